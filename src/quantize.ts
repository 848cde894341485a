// quantize(): converts a GGUF model to another weight type with llama.cpp's own quantizer.
import fs from "node:fs/promises";
import { binding } from "./binding";
import { InvalidModelFileError, LlamaError, callSite, toLlamaError } from "./errors";
import { validateModelFile } from "./gguf";
import { checkBool, checkInt, checkObject, checkOneOf, describe } from "./validate";

/** Target types that need no importance matrix. */
export const QUANTIZE_TYPES = [
  "F16", "BF16", "Q8_0", "Q6_K", "Q5_0", "Q5_1", "Q5_K_S", "Q5_K_M",
  "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q2_K",
] as const;
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
  const o = checkObject("options", options) as unknown as QuantizeOptions;
  const type = checkOneOf<QuantizeType>("type", o.type, QUANTIZE_TYPES);
  if (type === undefined) throw new TypeError(`type is required: one of ${QUANTIZE_TYPES.join(", ")}`);
  const native: Record<string, unknown> = { type };
  const threads = checkInt("threads", o.threads, 1, 1024);
  if (threads !== undefined) native.threads = threads;
  native.pure = checkBool("pure", o.pure) ?? false;
  native.allowRequantize = checkBool("allowRequantize", o.allowRequantize) ?? false;
  try {
    await validateModelFile(input);
  } catch (e) {
    if (e instanceof InvalidModelFileError) throw toLlamaError(e, site);
    throw toLlamaError(new LlamaError(`cannot read ${input}: ${(e as Error).message}`), site);
  }
  const partial = `${output}.partial-${process.pid}`;
  try {
    await binding().quantize(input, partial, native);
    await fs.rename(partial, output);
  } catch (e) {
    await fs.rm(partial, { force: true });
    throw toLlamaError(e, site);
  }
}
