// What a generation takes, streams and returns (shared by Context, Sequence and the chat layer).

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
  /** How many recent tokens (prompt included) the penalties look at; -1 = the whole context (at most 2^24). Default 64. */
  penaltyLastN?: number;
  /** Seed of the random sampler; same seed, prompt and options give the same tokens. Default: the context's seed. */
  seed?: number;
  /** Added to the logits of the given tokens: `[[token, bias], ...]` or `{ [token]: bias }`; -Infinity bans a token. */
  logitBias?: ReadonlyArray<readonly [number, number]> | Readonly<Record<number, number>>;
  /** A GBNF grammar the output must match (llama.cpp's grammar format; the start rule is `root`). */
  grammar?: string;
  /** The least number of tokens top-k, top-p, min-p, typical and XTC leave; 0 = no minimum. Default 0. */
  minKeep?: number;
  /** Keep only tokens whose logit is within this many standard deviations of the top one; -1 = off. Default -1. */
  topNSigma?: number;
  /** XTC ("exclude top choices"): with `probability`, drop every token above `threshold` but the least likely of them. Default off. */
  xtc?: XtcOptions;
  /** DRY ("don't repeat yourself"): penalize tokens that extend a repetition of earlier text. Default off. */
  dry?: DryOptions;
  /** Mirostat: sample to hold the text's surprise near `tau` (replaces top-k/top-p/min-p/typical/XTC). Default off. */
  mirostat?: MirostatOptions;
  /**
   * Report each sampled token's log probability (`chunk.logprobs`, `result.logprobs`), from the model's
   * distribution before sampling (softmax of the raw logits, as llama-server's `n_probs`). Default false.
   */
  logprobs?: boolean;
  /** With `logprobs`: also the K most likely tokens at each position, most likely first. Default 0. */
  topLogprobs?: number;
}

export interface XtcOptions {
  /** Chance, per token, that XTC applies (0 to 1). */
  probability: number;
  /** Tokens at least this likely are candidates for removal (0 to 1; above 0.5 XTC never applies). Default 0.1. */
  threshold?: number;
}

export interface DryOptions {
  /** Strength of the penalty; 0 = off. */
  multiplier: number;
  /** Base of the exponential penalty (at least 1). Default 1.75. */
  base?: number;
  /** Repetitions up to this many tokens are not penalized. Default 2. */
  allowedLength?: number;
  /** How many recent tokens (prompt included) to scan; -1 = the whole context, 0 = off. Default 64. */
  penaltyLastN?: number;
  /** Strings that end a repetition (at most 64, each cut to 40 characters). Default `["\n", ":", "\"", "*"]`. */
  sequenceBreakers?: readonly string[];
}

export interface MirostatOptions {
  /** 1 (Mirostat) or 2 (Mirostat 2.0). */
  version: 1 | 2;
  /** Target surprise (entropy). Default 5. */
  tau?: number;
  /** Learning rate. Default 0.1. */
  eta?: number;
}

/** One alternative at a sampled position. */
export interface TokenProbability {
  token: number;
  /** The token's text (a token that holds part of a UTF-8 character shows U+FFFD; `bytes` are exact). */
  text: string;
  bytes: Uint8Array;
  /** Natural log of its probability in the model's distribution before sampling. */
  logprob: number;
}

/** A sampled token's log probability, and the most likely tokens at its position (`topLogprobs`). */
export interface TokenLogprob extends TokenProbability {
  top: TokenProbability[];
}

/** A JSON Schema (draft 2020-12 keywords; what llama.cpp's converter supports is listed in docs/chat.md). */
export type JsonSchema = { [key: string]: unknown } | boolean;

/** Constrains the output to JSON (by a grammar made with llama.cpp's JSON-schema converter). */
export type ResponseFormat =
  | { type: "text" }
  /** any JSON object (with `schema`: one matching it) */
  | { type: "json_object"; schema?: JsonSchema }
  | { type: "json_schema"; schema: JsonSchema; name?: string };

/** Generation options without `sequence` (what Sequence.generate takes). */
export interface SequenceGenerationOptions extends SamplingOptions {
  /** Stop after this many tokens. Default: until end-of-generation or the context is full. */
  maxTokens?: number;
  /** Stop when the output contains any of these strings; the stop string is not included in the text. */
  stop?: readonly string[];
  /** Cancels the generation; it then ends with stopReason "abort" (it does not throw). */
  signal?: AbortSignal;
  /**
   * JSON output: the generation is constrained by the grammar of the schema, and the result's `json`
   * holds the parsed answer. Cannot be combined with `grammar`.
   */
  responseFormat?: ResponseFormat;
}

export interface GenerationChunk {
  /** New text; always whole UTF-8 characters (a character split across tokens arrives whole). */
  text: string;
  /** The last token sampled for this chunk. */
  token: number;
  /**
   * Every token sampled since the previous chunk. Usually one; tokens that come within a millisecond
   * of the previous chunk are grouped (the JS thread wakes at most about 1000 times a second per
   * stream; up to 64 ms apart while other work keeps the cores busy), and a token whose text is held
   * back (half a character, the start of a stop string) arrives with the text that completes it.
   */
  tokens: Int32Array;
  /** With `logprobs`: one entry per token of `tokens`. */
  logprobs?: TokenLogprob[];
}

export type StopReason = "eog" | "maxTokens" | "stop" | "abort" | "contextFull";

export interface Timings {
  /** tokens in the prompt */
  promptTokens: number;
  /** prompt tokens decoded by this call (the rest were reused from the KV cache) */
  evaluatedPromptTokens: number;
  /** prompt tokens reused from the KV cache */
  reusedTokens: number;
  promptMs: number;
  generatedTokens: number;
  generateMs: number;
  /** speculative decoding (createContext({ speculative })): drafted tokens the model checked; 0 without */
  draftedTokens: number;
  /** of which the generation kept (each was the token the sampler picked); at most draftedTokens */
  acceptedTokens: number;
}

export interface GenerationResult {
  stopReason: StopReason;
  /** The KV cache sequence the generation ran in (-1 when it was aborted before it started). */
  sequence: number;
  timings: Timings;
  /** With a JSON `responseFormat`: the answer, parsed (a LlamaError is thrown when it is not JSON). */
  json?: unknown;
  /** With `logprobs`: one entry per generated token. */
  logprobs?: TokenLogprob[];
}

export interface CompletionResult extends GenerationResult {
  text: string;
  tokens: Int32Array;
}
