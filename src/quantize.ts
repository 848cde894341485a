// quantize(): converts a GGUF model to another weight type with llama.cpp's own quantizer.
// node:fs/promises is reached through fs.promises when called, not loaded with the package.
import nodeFs from "node:fs";
import { binding } from "./binding";
import { InvalidModelFileError, LlamaError, callSite, withCallerStack } from "./errors";
import { validateModelFile } from "./gguf";
import { QUANTIZE_TYPES } from "./native-params";
import { defineOptions, v } from "./options";
import { describe } from "./validate";

/** Target types that need no importance matrix. */
export { QUANTIZE_TYPES };
export type QuantizeType = (typeof QUANTIZE_TYPES)[number];

export interface QuantizeOptions {
  /** Weight type of the output (the mix llama-quantize uses for that name). */
  type: QuantizeType;
  /** Threads; default: every core. */
  threads?: number;
  /** Quantize every tensor to `type`, without llama.cpp's per-tensor mix (llama-quantize --pure). Default false. */
  pure?: boolean;
  /** Allow re-quantizing tensors that are already quantized (loses quality). Default false. */
  allowRequantize?: boolean;
}

const parseQuantizeOptions = defineOptions<QuantizeOptions>("quantize options", {
  type: v.param("quantize", "type"),
  threads: v.int(1, 1024),
  pure: v.bool,
  allowRequantize: v.bool,
});

/**
 * Writes `output`, a copy of the GGUF model `input` with its weights converted to `options.type`
 * (what `llama-quantize input output TYPE` writes). The input is validated first; the output appears
 * only when complete (it is written beside it and renamed). Runs on a thread of its own; it cannot be
 * cancelled once started.
 */
export async function quantize(input: string, output: string, options: QuantizeOptions): Promise<void> {
  const site = callSite();
  if (typeof input !== "string" || input.length === 0) throw new TypeError(`input must be a non-empty string; got ${describe(input)}`);
  if (typeof output !== "string" || output.length === 0) throw new TypeError(`output must be a non-empty string; got ${describe(output)}`);
  const o = parseQuantizeOptions(options);
  if (o.type === undefined) throw new TypeError(`type is required: one of ${QUANTIZE_TYPES.join(", ")}`);
  const native = { type: o.type, threads: o.threads ?? 0, pure: o.pure ?? false, allowRequantize: o.allowRequantize ?? false };
  try {
    await validateModelFile(input);
  } catch (e) {
    if (e instanceof InvalidModelFileError) throw withCallerStack(e, site);
    throw withCallerStack(new LlamaError(`cannot read ${input}: ${(e as Error).message}`), site);
  }
  const partial = `${output}.partial-${process.pid}`;
  try {
    await binding().quantize(input, partial, native);
    await nodeFs.promises.rename(partial, output);
  } catch (e) {
    await nodeFs.promises.rm(partial, { force: true });
    throw withCallerStack(e, site);
  }
}
