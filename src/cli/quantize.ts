// llama-native quantize IN OUT TYPE: llama.cpp's quantizer, with a progress bar on a terminal.
import { QUANTIZE_TYPES, type QuantizeType, quantize as quantizeModel, setLogger, setLogLevel } from "../index";
import { type Command, intFlag, parse, UsageError } from "./args";
import { Progress } from "./progress";

export const quantize: Command = {
  name: "quantize",
  summary: "convert a GGUF model's weights to another type (llama.cpp's quantizer)",
  usage: `llama-native quantize IN.gguf OUT.gguf TYPE [--threads N] [--pure] [--allow-requantize]
    Writes OUT, a copy of IN with its weights converted to TYPE, as llama-quantize does.
    TYPE: ${QUANTIZE_TYPES.join(", ")}
    --threads N           threads (default: every core)
    --pure                every tensor to TYPE, without llama.cpp's per-tensor mix (llama-quantize --pure)
    --allow-requantize    allow converting tensors that are already quantized`,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { threads: { type: "string", short: "t" }, pure: { type: "boolean" }, "allow-requantize": { type: "boolean" } },
      true,
    );
    if (positionals.length !== 3) throw new UsageError("quantize takes IN.gguf OUT.gguf TYPE");
    const [input, output, type] = positionals as [string, string, string];
    const t = type.toUpperCase();
    if (!(QUANTIZE_TYPES as readonly string[]).includes(t))
      throw new UsageError(`TYPE must be one of ${QUANTIZE_TYPES.join(", ")}; got ${type}`);
    const threads = intFlag(values, "threads", undefined, 1, 1024);
    // llama.cpp logs "[  3/ 48] tensor-name ..." per tensor at the info level: that is the progress
    const bar = new Progress(`quantizing to ${t}`);
    if (process.stderr.isTTY) {
      setLogLevel("info");
      setLogger((_level, text) => {
        const m = /^\[\s*(\d+)\/\s*(\d+)\]/.exec(text);
        if (m) bar.update(Number(m[1]) / Number(m[2]));
      });
    }
    try {
      await quantizeModel(input, output, {
        type: t as QuantizeType,
        threads,
        pure: values.pure === true,
        allowRequantize: values["allow-requantize"] === true,
      });
    } finally {
      bar.done();
      if (process.stderr.isTTY) {
        setLogger(null);
        setLogLevel("error");
      }
    }
    process.stderr.write(`wrote ${output}\n`);
    return 0;
  },
};
