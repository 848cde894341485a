// llama-native system: which binary loaded, what it was built with, what it sees.
import { systemInfo } from "../index";
import { type Command, parse } from "./args";

export const system: Command = {
  name: "system",
  summary: "which binary loaded, CPU features, GPU devices",
  usage: `llama-native system [--json]
    Which llama-native binary was loaded (and which candidates were passed over, why), the backend it
    was built for, the devices it sees and llama.cpp's CPU feature line.`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } });
    const si = systemInfo();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(si, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `binary     ${si.binary}${si.portable ? " (portable: CPU variant chosen at load)" : ""}`,
      ...si.skipped.map((s) => `  skipped  ${s.file}: ${s.reason}`),
      `backend    ${si.gpu}; registered: ${si.backends.join(", ")}`,
      `devices    ${si.devices.map((d) => `${d.name} (${d.description})`).join(", ")}`,
      `cpu        ${si.llamaCppSystemInfo}`,
      `gpu offload ${si.supportsGpuOffload ? "yes" : "no"}, mmap ${si.supportsMmap ? "yes" : "no"}, up to ${si.maxSequences} sequences`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
};
