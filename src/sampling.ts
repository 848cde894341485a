// Generation options: types, defaults and validation before anything crosses into native code.
import { checkInt, checkNumber, checkObject, checkSignal, describe } from "./validate";

export interface SamplingOptions {
  /** Sampling temperature; 0 = greedy (always the most likely token). Default 0.8. */
  temperature?: number;
  /** Keep only the K most likely tokens; 0 = off. Default 40. */
  topK?: number;
  /** Nucleus sampling: keep the smallest set whose probability reaches P; 1 = off. Default 0.95. */
  topP?: number;
  /** Drop tokens less likely than minP x the most likely one; 0 = off. Default 0.05. */
  minP?: number;
  /** Locally typical sampling; 1 = off. Default 1. */
  typicalP?: number;
  /** Penalize repeated tokens (> 1 discourages); 1 = off. Default 1. */
  repeatPenalty?: number;
  /** Subtract frequency x count from a token's logit; 0 = off. Default 0. */
  frequencyPenalty?: number;
  /** Subtract this once from any token already seen; 0 = off. Default 0. */
  presencePenalty?: number;
  /** How many recent tokens (prompt included) the penalties look at; -1 = the whole context. Default 64. */
  penaltyLastN?: number;
  /** Seed of the random sampler; same seed, prompt and options give the same tokens. Default: the context's seed. */
  seed?: number;
  /** Added to the logits of the given tokens: `[[token, bias], ...]` or `{ [token]: bias }`; -Infinity bans a token. */
  logitBias?: ReadonlyArray<readonly [number, number]> | Readonly<Record<number, number>>;
  /** A GBNF grammar the output must match (llama.cpp's grammar format; the start rule is `root`). */
  grammar?: string;
}

export interface GenerationOptions extends SamplingOptions {
  /** Stop after this many tokens. Default: until end-of-generation or the context is full. */
  maxTokens?: number;
  /** Stop when the output contains any of these strings; the stop string is not included in the text. */
  stop?: readonly string[];
  /** Cancels the generation; it then ends with stopReason "abort" (it does not throw). */
  signal?: AbortSignal;
  /**
   * The KV cache sequence to run in, 0 to `sequences - 1` (a conversation that keeps its sequence
   * reuses its cached prefix). Default: the free sequence whose cache shares the longest prefix.
   */
  sequence?: number;
}

const MAX_I32 = 2 ** 31 - 1;

/** Validates options and returns the plain object the native layer reads (defaults are native's). */
export function toNativeGenerationOptions(
  options: unknown,
  vocabSize: number,
  contextSize: number,
  contextSeed: number | undefined,
  sequences = 1,
): { native: Record<string, unknown>; signal?: AbortSignal } {
  const o = checkObject("options", options) as GenerationOptions;
  const native: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) native[k] = v;
  };
  set("temperature", checkNumber("temperature", o.temperature, 0, 1e6));
  set("topK", checkInt("topK", o.topK, 0, vocabSize));
  set("topP", checkNumber("topP", o.topP, 0, 1));
  set("minP", checkNumber("minP", o.minP, 0, 1));
  set("typicalP", checkNumber("typicalP", o.typicalP, 0, 1));
  set("repeatPenalty", checkNumber("repeatPenalty", o.repeatPenalty, 1e-6, 1e6));
  set("frequencyPenalty", checkNumber("frequencyPenalty", o.frequencyPenalty, -1e6, 1e6));
  set("presencePenalty", checkNumber("presencePenalty", o.presencePenalty, -1e6, 1e6));
  const lastN = checkInt("penaltyLastN", o.penaltyLastN, -1, MAX_I32);
  set("penaltyLastN", lastN === -1 ? contextSize : lastN);
  set("seed", checkInt("seed", o.seed ?? contextSeed, 0, 0xffffffff));
  set("maxTokens", checkInt("maxTokens", o.maxTokens, 0, MAX_I32));
  set("sequence", checkInt("sequence", o.sequence, 0, sequences - 1));
  if (o.grammar !== undefined) {
    if (typeof o.grammar !== "string") throw new TypeError(`grammar must be a GBNF string; got ${describe(o.grammar)}`);
    if (o.grammar.trim() !== "") native.grammar = o.grammar;
  }
  if (o.stop !== undefined) {
    if (!Array.isArray(o.stop) || !o.stop.every((s) => typeof s === "string")) {
      throw new TypeError(`stop must be an array of strings; got ${describe(o.stop)}`);
    }
    if (o.stop.some((s) => s.length === 0)) throw new RangeError("stop strings must not be empty");
    if (o.stop.length > 0) native.stop = [...o.stop];
  }
  if (o.logitBias !== undefined) {
    const pairs: [number, number][] = [];
    const entries: [unknown, unknown][] = Array.isArray(o.logitBias)
      ? (o.logitBias as unknown[]).map((p) => {
          if (!Array.isArray(p) || p.length !== 2) throw new TypeError("logitBias must be [token, bias] pairs or a { token: bias } object");
          return [p[0], p[1]];
        })
      : Object.entries(checkObject("logitBias", o.logitBias)).map(([k, v]) => [Number(k), v]);
    for (const [t, b] of entries) {
      if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new RangeError(`logitBias: token id ${describe(t)} is not an integer in [0, ${vocabSize})`);
      }
      if (typeof b !== "number" || Number.isNaN(b)) throw new RangeError(`logitBias: bias for token ${t} must be a number; got ${describe(b)}`);
      pairs.push([t, b]);
    }
    if (pairs.length > 0) native.logitBias = pairs;
  }
  return { native, signal: checkSignal("signal", o.signal) };
}
