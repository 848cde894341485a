// Generation options: types, defaults and validation before anything crosses into native code.
import { MAX_CELLS, type NativeParams } from "./native-params";
import { defineOptions, type OptionsSpec, type Parsed, type Validator, v } from "./options";
import type { DryOptions, MirostatOptions, SequenceGenerationOptions, XtcOptions } from "./generation-types";
import type { Sequence } from "./sequence";
import { checkObject, describe } from "./validate";
import { checkResponseFormat } from "./chat/json-schema";
import { type MediaInput, checkMedia } from "./projector";

export interface GenerationOptions extends SequenceGenerationOptions {
  /**
   * The KV cache sequence to run in: a Sequence from `ctx.getSequence()` (yours alone until you
   * dispose it), or a number from 0 to `sequences - 1` that no Sequence owns. A conversation that keeps
   * its sequence reuses its cached prefix. Default: the free unowned sequence whose cache shares the
   * longest prefix with the prompt.
   */
  sequence?: number | Sequence;
  /**
   * Images or audio for a prompt that holds one MEDIA_MARKER ("<__media__>") per medium, in order:
   * `{ type: "image" | "audio", data: Uint8Array }` with the encoded file's bytes. Needs a projector
   * (loadModel(path, { projector }) or model.loadProjector()) and a string prompt. Default: none.
   */
  media?: readonly MediaInput[];
}

const p = (key: keyof NativeParams<"Context.generate">) => v.param("Context.generate", key);

const parseXtc = defineOptions<XtcOptions>("xtc options", {
  probability: p("xtcProbability"),
  threshold: p("xtcThreshold"),
});
const parseDry = defineOptions<DryOptions>("dry options", {
  multiplier: p("dryMultiplier"),
  base: p("dryBase"),
  allowedLength: p("dryAllowedLength"),
  penaltyLastN: v.int(-1, MAX_CELLS),
  sequenceBreakers: (value, name) => {
    if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) {
      throw new TypeError(`${name} must be an array of strings; got ${describe(value)}`);
    }
    if (value.length > 64) throw new RangeError(`${name}: at most 64 sequence breakers; got ${value.length}`);
    return value as string[];
  },
});
const parseMirostat = defineOptions<MirostatOptions>("mirostat options", {
  version: (value, name) => {
    if (value !== 1 && value !== 2) throw new RangeError(`${name} must be 1 or 2; got ${describe(value)}`);
    return value;
  },
  tau: p("mirostatTau"),
  eta: p("mirostatEta"),
});

/** A nested options object whose leading key is required. */
function required<T>(parse: (value: unknown) => Parsed<T>, key: keyof T & string) {
  return (value: unknown, name: string): Parsed<T> => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`${name} must be an object; got ${describe(value)}`);
    }
    const o = parse(value);
    if (o[key] === undefined) throw new TypeError(`${name}.${key} is required`);
    return o;
  };
}

/** The validators of GenerationOptions (the chat options include them). */
export const GENERATION_OPTION_VALIDATORS: OptionsSpec<Omit<GenerationOptions, "media">> = {
  temperature: p("temperature"),
  topK: p("topK"),
  topP: p("topP"),
  minP: p("minP"),
  typicalP: p("typicalP"),
  minKeep: p("minKeep"),
  topNSigma: (value, name) => (value === -1 ? -1 : v.number(0, 1e6)(value, name)),
  xtc: required(parseXtc, "probability") as Validator<XtcOptions>,
  dry: required(parseDry, "multiplier") as Validator<DryOptions>,
  mirostat: required(parseMirostat, "version") as Validator<MirostatOptions>,
  logprobs: v.bool,
  topLogprobs: v.int(0, 2 ** 31 - 1),
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

export const parseGenerationOptions = defineOptions<GenerationOptions>("generate options", {
  ...GENERATION_OPTION_VALIDATORS,
  media: checkMedia,
});

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
  if (o.topLogprobs !== undefined && o.topLogprobs > 0 && o.logprobs !== true) {
    throw new TypeError("topLogprobs needs logprobs: true");
  }
  // llama-server's defaults (common_params_sampling) for everything not given
  const xtc = o.xtc as Parsed<XtcOptions> | undefined;
  const dry = o.dry as Parsed<DryOptions> | undefined;
  const mirostat = o.mirostat as Parsed<MirostatOptions> | undefined;
  const dryLastN = dry?.penaltyLastN ?? 64;
  return {
    sequence,
    maxTokens: o.maxTokens ?? -1,
    stop: o.stop ? [...o.stop] : [],
    temperature: o.temperature ?? 0.8,
    topK: o.topK ?? 40,
    topP: o.topP ?? 0.95,
    minP: o.minP ?? 0.05,
    typicalP: o.typicalP ?? 1,
    minKeep: o.minKeep ?? 0,
    topNSigma: o.topNSigma ?? -1,
    xtcProbability: xtc?.probability ?? 0,
    xtcThreshold: xtc?.threshold ?? 0.1,
    repeatPenalty: o.repeatPenalty ?? 1,
    frequencyPenalty: o.frequencyPenalty ?? 0,
    presencePenalty: o.presencePenalty ?? 0,
    penaltyLastN: o.penaltyLastN === -1 ? sequenceContextSize : (o.penaltyLastN ?? 64),
    dryMultiplier: dry?.multiplier ?? 0,
    dryBase: dry?.base ?? 1.75,
    dryAllowedLength: dry?.allowedLength ?? 2,
    dryPenaltyLastN: dryLastN === -1 ? sequenceContextSize : dryLastN,
    dryBreakers: dry?.sequenceBreakers ? [...dry.sequenceBreakers] : ["\n", ":", '"', "*"],
    mirostat: mirostat?.version ?? 0,
    mirostatTau: mirostat?.tau ?? 5,
    mirostatEta: mirostat?.eta ?? 0.1,
    // 0xffffffff is llama.cpp's LLAMA_DEFAULT_SEED: a random seed
    seed: o.seed ?? contextSeed ?? 0xffffffff,
    grammar: o.grammar?.trim() ? o.grammar : "",
    outputFormat: false,
    topLogprobs: o.logprobs === true ? (o.topLogprobs ?? 0) : -1,
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
