// Generation options: types, defaults and validation before anything crosses into native code.
import { MAX_CELLS, type NativeParams } from "./native-params";
import { defineOptions, type OptionsSpec, v } from "./options";
import type { SequenceGenerationOptions } from "./generation-types";
import type { Sequence } from "./sequence";
import { checkObject, describe } from "./validate";
import { checkResponseFormat } from "./chat/json-schema";

export interface GenerationOptions extends SequenceGenerationOptions {
  /**
   * The KV cache sequence to run in: a Sequence from `ctx.getSequence()` (yours alone until you
   * dispose it), or a number from 0 to `sequences - 1` that no Sequence owns. A conversation that keeps
   * its sequence reuses its cached prefix. Default: the free unowned sequence whose cache shares the
   * longest prefix with the prompt.
   */
  sequence?: number | Sequence;
}

const p = (key: keyof NativeParams<"Context.generate">) => v.param("Context.generate", key);

/** The validators of GenerationOptions (the chat options include them). */
export const GENERATION_OPTION_VALIDATORS: OptionsSpec<GenerationOptions> = {
  temperature: p("temperature"),
  topK: p("topK"),
  topP: p("topP"),
  minP: p("minP"),
  typicalP: p("typicalP"),
  repeatPenalty: p("repeatPenalty"),
  frequencyPenalty: p("frequencyPenalty"),
  presencePenalty: p("presencePenalty"),
  penaltyLastN: v.int(-1, MAX_CELLS),
  seed: p("seed"),
  logitBias: v.any<NonNullable<GenerationOptions["logitBias"]>>(), // checked against the vocabulary in toNativeGenerateParams
  grammar: (value, name) => {
    if (typeof value !== "string") throw new TypeError(`${name} must be a GBNF string; got ${describe(value)}`);
    return value;
  },
  maxTokens: v.int(0, 2 ** 31 - 1),
  stop: (value, name) => {
    if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) {
      throw new TypeError(`${name} must be an array of strings; got ${describe(value)}`);
    }
    if (value.some((s) => s.length === 0)) throw new RangeError("stop strings must not be empty");
    return value as string[];
  },
  signal: v.signal,
  responseFormat: (value, name) => checkResponseFormat(value, name),
  sequence: v.any<number | Sequence>(), // a number or a Sequence: the context resolves it (src/context.ts)
};

export const parseGenerationOptions = defineOptions<GenerationOptions>("generate options", GENERATION_OPTION_VALIDATORS);

export type ParsedGenerationOptions = ReturnType<typeof parseGenerationOptions>;

/**
 * The complete native params of a generation, every default filled in. `sequence` is the resolved
 * KV sequence (-1: the engine picks).
 */
export function toNativeGenerateParams(
  o: ParsedGenerationOptions,
  vocabSize: number,
  sequenceContextSize: number,
  contextSeed: number | undefined,
  sequence: number,
): NativeParams<"Context.generate"> {
  if (o.topK !== undefined && o.topK > vocabSize) throw new RangeError(`topK must be an integer in [0, ${vocabSize}]; got ${o.topK}`);
  return {
    sequence,
    maxTokens: o.maxTokens ?? -1,
    stop: o.stop ? [...o.stop] : [],
    temperature: o.temperature ?? 0.8,
    topK: o.topK ?? 40,
    topP: o.topP ?? 0.95,
    minP: o.minP ?? 0.05,
    typicalP: o.typicalP ?? 1,
    repeatPenalty: o.repeatPenalty ?? 1,
    frequencyPenalty: o.frequencyPenalty ?? 0,
    presencePenalty: o.presencePenalty ?? 0,
    penaltyLastN: o.penaltyLastN === -1 ? sequenceContextSize : (o.penaltyLastN ?? 64),
    // 0xffffffff is llama.cpp's LLAMA_DEFAULT_SEED: a random seed
    seed: o.seed ?? contextSeed ?? 0xffffffff,
    grammar: o.grammar?.trim() ? o.grammar : "",
    logitBias: o.logitBias === undefined ? [] : logitBiasPairs(o.logitBias, vocabSize),
    chatSampling: "",
  };
}

function logitBiasPairs(bias: NonNullable<GenerationOptions["logitBias"]>, vocabSize: number): [number, number][] {
  const entries: [unknown, unknown][] = Array.isArray(bias)
    ? (bias as unknown[]).map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2)
          throw new TypeError("logitBias must be [token, bias] pairs or a { token: bias } object");
        return [pair[0], pair[1]];
      })
    : Object.entries(checkObject("logitBias", bias)).map(([k, b]) => [Number(k), b]);
  return entries.map(([t, b]) => {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new RangeError(`logitBias: token id ${describe(t)} is not an integer in [0, ${vocabSize})`);
    }
    if (typeof b !== "number" || Number.isNaN(b))
      throw new RangeError(`logitBias: bias for token ${t} must be a number; got ${describe(b)}`);
    return [t, b];
  });
}
