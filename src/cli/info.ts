// llama-native info [MODEL.gguf]: the loaded addon and, with a model, its GGUF header.
import { readGgufInfo } from "../gguf";
import { systemInfo } from "../system";
import { type Command, UsageError, parse } from "./args";

export const info: Command = {
  name: "info",
  summary: "system and GGUF header as JSON (the 0.1 command; see system and inspect)",
  usage: `llama-native info [MODEL.gguf]
    What the loaded addon was built with (backend, devices, CPU features); with a model, its GGUF header.`,
  async run(argv) {
    const { positionals } = parse(argv, {}, true);
    if (positionals.length > 1) throw new UsageError("info takes at most one model path");
    const si = systemInfo();
    console.log(JSON.stringify({ backend: si.gpu, binary: si.binary, devices: si.devices, cpu: si.llamaCppSystemInfo }, null, 2));
    if (positionals[0]) {
      const gguf = await readGgufInfo(positionals[0]);
      const meta = Object.fromEntries(
        Object.entries(gguf.metadata).map(([k, v]) => [k, Array.isArray(v) && v.length > 16 ? `[${v.length} items]` : v]),
      );
      console.log(
        JSON.stringify(
          { version: gguf.version, tensors: gguf.tensors.length, metadata: meta },
          (_, v) => (typeof v === "bigint" ? String(v) : v),
          2,
        ),
      );
    }
    return 0;
  },
};
