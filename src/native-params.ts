// The options objects that cross into native code, declared once per native entry point.
//
// native/params.cpp declares the same tables; test/unit/native-params.test.ts proves the two agree
// (same keys, types, ranges and choices). TypeScript validates public options (src/options.ts),
// fills every default and sends these objects complete: native code refuses a missing or unknown
// key, re-checks each range (they keep values away from llama.cpp's asserts) and checks that it
// read every key it declares.

export type ParamSpec =
  | { readonly type: "bool" }
  | { readonly type: "int"; readonly min: number; readonly max: number }
  | { readonly type: "number"; readonly min: number; readonly max: number }
  | { readonly type: "string" }
  | { readonly type: "strings" }
  | { readonly type: "numbers"; readonly min: number; readonly max: number }
  | { readonly type: "tokenBias" }
  | { readonly type: "oneOf"; readonly choices: readonly string[] };

const bool = { type: "bool" } as const;
const str = { type: "string" } as const;
const int = <A extends number, B extends number>(min: A, max: B) => ({ type: "int", min, max }) as const;
const num = <A extends number, B extends number>(min: A, max: B) => ({ type: "number", min, max }) as const;
const oneOf = <const C extends readonly string[]>(...choices: C) => ({ type: "oneOf", choices }) as const;

export const I32_MAX = 2 ** 31 - 1;
/** 2^24: the largest context, batch and penalty window. */
export const MAX_CELLS = 2 ** 24;
/** llama.cpp's LLAMA_MAX_SEQ. */
export const MAX_SEQUENCES = 256;

export const QUANTIZE_TYPES = [
  "F16",
  "BF16",
  "Q8_0",
  "Q6_K",
  "Q5_0",
  "Q5_1",
  "Q5_K_S",
  "Q5_K_M",
  "Q4_0",
  "Q4_1",
  "Q4_K_S",
  "Q4_K_M",
  "Q3_K_S",
  "Q3_K_M",
  "Q3_K_L",
  "Q2_K",
] as const;

export const POOLINGS = ["default", "none", "mean", "cls", "last", "rank"] as const;

export const NATIVE_PARAMS = {
  "Model.load": {
    gpuLayers: int(-1, I32_MAX),
    loadMode: oneOf("auto", "mmap", "none"),
    vocabOnly: bool,
    checkTensors: bool,
    /** ggml RPC workers (host:port) whose devices join the local ones (llama.cpp's --rpc) */
    rpcServers: { type: "strings" },
    /** the share of layers per device, RPC devices first (llama.cpp's --tensor-split); [] = by free memory */
    tensorSplit: { type: "numbers", min: 0, max: 1e9 },
  },
  "Context.create": {
    contextSize: int(1, MAX_CELLS),
    batchSize: int(1, MAX_CELLS),
    ubatchSize: int(1, MAX_CELLS),
    sequences: int(1, MAX_SEQUENCES),
    threads: int(1, 1024),
    batchThreads: int(1, 1024),
    threadPoll: int(0, 100),
    adaptiveThreads: bool,
    embeddings: bool,
    pooling: oneOf(...POOLINGS),
    unifiedKvCache: bool,
    contextShift: bool,
    contextShiftKeep: int(-1, MAX_CELLS),
    /** speculative decoding: a draft model (passed beside the params) or n-gram lookup */
    speculative: oneOf("none", "draft", "ngram"),
    /** llama.cpp's --spec-draft-n-max */
    draftMax: int(1, 1024),
    /** llama.cpp's --spec-draft-n-min */
    draftMin: int(0, 1024),
    /** llama.cpp's --spec-draft-p-min */
    draftPMin: num(0, 1),
    /** llama.cpp's --spec-ngram-simple-size-n */
    ngramSizeN: int(1, 1024),
    /** llama.cpp's --spec-ngram-simple-size-m */
    ngramSizeM: int(1, 1024),
  },
  "Context.generate": {
    sequence: int(-1, MAX_SEQUENCES - 1),
    maxTokens: int(-1, I32_MAX),
    stop: { type: "strings" },
    temperature: num(0, 1e6),
    topK: int(0, I32_MAX),
    topP: num(0, 1),
    minP: num(0, 1),
    typicalP: num(0, 1),
    minKeep: int(0, I32_MAX),
    topNSigma: num(-1, 1e6),
    xtcProbability: num(0, 1),
    xtcThreshold: num(0, 1),
    repeatPenalty: num(1e-6, 1e6),
    frequencyPenalty: num(-1e6, 1e6),
    presencePenalty: num(-1e6, 1e6),
    penaltyLastN: int(0, MAX_CELLS),
    dryMultiplier: num(0, 1e6),
    dryBase: num(1, 1e6),
    dryAllowedLength: int(0, I32_MAX),
    dryPenaltyLastN: int(0, MAX_CELLS),
    dryBreakers: { type: "strings" },
    mirostat: int(0, 2),
    mirostatTau: num(0, 1e6),
    mirostatEta: num(0, 1e6),
    seed: int(0, 0xffffffff),
    grammar: str,
    /** the grammar came from a JSON schema (llama-server's "output format" grammar) */
    outputFormat: bool,
    /** -1: no logprobs; K >= 0: each sampled token's logprob and the K most likely tokens' */
    topLogprobs: int(-1, I32_MAX),
    logitBias: { type: "tokenBias" },
    /** chat turns: llama-server's chat sampling fields as JSON (native/chat_sampling.h); "" otherwise */
    chatSampling: str,
  },
  quantize: {
    type: oneOf(...QUANTIZE_TYPES),
    threads: int(0, 1024),
    pure: bool,
    allowRequantize: bool,
  },
} as const satisfies Record<string, Record<string, ParamSpec>>;

export type NativeEntry = keyof typeof NATIVE_PARAMS;

type ValueOf<S> = S extends { type: "bool" }
  ? boolean
  : S extends { type: "int" | "number" }
    ? number
    : S extends { type: "string" }
      ? string
      : S extends { type: "strings" }
        ? string[]
        : S extends { type: "numbers" }
          ? number[]
          : S extends { type: "tokenBias" }
            ? [number, number][]
            : S extends { type: "oneOf"; choices: readonly (infer C)[] }
              ? C
              : never;

/** The complete object native entry point `E` receives. */
export type NativeParams<E extends NativeEntry> = {
  -readonly [K in keyof (typeof NATIVE_PARAMS)[E]]: ValueOf<(typeof NATIVE_PARAMS)[E][K]>;
};

/** The declaration of one native parameter (for public validators that map onto it one to one). */
export function paramSpec<E extends NativeEntry, K extends keyof (typeof NATIVE_PARAMS)[E]>(
  entry: E,
  key: K,
): (typeof NATIVE_PARAMS)[E][K] {
  return NATIVE_PARAMS[entry][key];
}
