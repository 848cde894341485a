// createContext() options: their types, defaults and validation, and the complete native params.
import os from "node:os";
import type { NativeParams, POOLINGS } from "./native-params";
import type { NativeModel } from "./native-types";
import type { LoraSpec } from "./lora";
import { defineOptions, v } from "./options";
import { describe } from "./validate";

/** createContext({ contextShift }): what a generation that fills its sequence keeps. */
export interface ContextShiftOptions {
  /**
   * Prompt tokens kept at the start of the sequence besides the BOS token (always kept when the
   * prompt begins with it), as llama.cpp's `--keep` / `n_keep`; -1 keeps the whole prompt. Default 0.
   */
  keep?: number;
}

/** createContext({ speculative: { draft } }): drafting with a small model of the same vocabulary. */
export interface DraftModelOptions {
  /**
   * The draft model (a loaded Model with the target's vocabulary; another vocabulary is refused with
   * a LlamaError naming the difference). The context keeps its weights alive: disposing the draft
   * model while the context lives is safe.
   */
  model: DraftModel;
  /** Most tokens drafted per step, 1 to 1024 (llama.cpp's --spec-draft-n-max). Default 3. */
  max?: number;
  /** Drafts shorter than this are dropped, 0 to 1024, at most `max` (--spec-draft-n-min). Default 0. */
  min?: number;
  /** Drafting stops at a token the draft model gives less probability, 0 to 1 (--spec-draft-p-min). Default 0. */
  pMin?: number;
}

/** createContext({ speculative: { ngram } }): drafting by n-gram lookup in the sequence's own tokens. */
export interface NgramOptions {
  /** Length of the n-gram (ending with the last token) looked up in earlier tokens, 1 to 1024 (--spec-ngram-simple-size-n). Default 12. */
  sizeN?: number;
  /** Tokens drafted from what followed the match, 1 to 1024 (--spec-ngram-simple-size-m). Default 48. */
  sizeM?: number;
}

/** createContext({ speculative }): one of a draft model or n-gram lookup. */
export interface SpeculativeOptions {
  draft?: DraftModelOptions;
  /** `true` is `{}` (llama.cpp's defaults). */
  ngram?: boolean | NgramOptions;
}

/** What a draft model must be: a loaded Model (src/model.ts). */
export interface DraftModel {
  readonly native: NativeModel;
}

export type Pooling = (typeof POOLINGS)[number];

export interface ContextOptions {
  /** KV cache size in tokens. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Most tokens decoded in one llama_decode call (prompts are split into such chunks). Default 512 (embeddings: contextSize); at most contextSize. */
  batchSize?: number;
  /** Most tokens llama.cpp evaluates in one graph (the physical batch). Default: batchSize, at most 512 (embeddings: batchSize). */
  ubatchSize?: number;
  /**
   * Threads for generation. Default: the number of CPU cores (os.availableParallelism()). At most
   * that many are used (`info.threads` says how many): ggml's threads wait for each other at
   * spinning barriers, and more threads than cores ran hundreds of times slower. Contexts decoding
   * at the same time share the cores: while several are busy, each decode runs with its share of
   * them (at least one thread), waiting its turn when none is free.
   */
  threads?: number;
  /** Threads for prompt processing. Default: `threads`; clamped like it. */
  batchThreads?: number;
  /**
   * How eagerly ggml's worker threads poll for the next piece of work before sleeping, 0 (sleep at
   * once) to 100 (spin longest). Default 50, as llama.cpp's tools; see bench/RESULTS.md for the measurements.
   */
  threadPoll?: number;
  /**
   * Let each decode use one thread instead of `threads` while one thread measures faster. ggml's
   * threads meet at spinning barriers, so when other processes keep the cores busy, a decode with
   * every thread can run many times slower than with one; the context measures both as it works
   * (re-checking the other now and then at ~1 % of the time) and uses the faster. Default true; false
   * always uses `threads` (llama.cpp's own tools do).
   */
  adaptiveThreads?: boolean;
  /** Create an embedding context (ctx.embed) instead of a generation context. Default false. */
  embeddings?: boolean;
  /**
   * How token embeddings are pooled into one vector. Default: the model's own (llama.cpp's default).
   * "rank" (with `embeddings: true`) scores query/document pairs with a reranker's classification
   * head (ctx.rank()); a model without one is refused.
   */
  pooling?: Pooling;
  /** Default seed for this context's sampling (generation options may override). Default: random. */
  seed?: number;
  /**
   * Parallel sequences the KV cache holds. With more than one, that many generate() calls run at once,
   * sharing each decode step (continuous batching); further calls wait for a free sequence in call
   * order. Each sequence gets `contextSize / sequences` cells (llama.cpp rounds a share up to a
   * multiple of 256) unless `unifiedKvCache` lets them share all of it. Embeddings: inputs per batch.
   * Default 1 (embeddings 64, at most batchSize).
   */
  sequences?: number;
  /**
   * With several sequences: true lets them share one KV cache of `contextSize` cells (a sequence may
   * use it all; attention spans every cell), false gives each `contextSize / sequences` cells of its
   * own (faster attention when many streams run at once). Default false.
   */
  unifiedKvCache?: boolean;
  /** LoRA adapters to apply (model.loadLora()), each with its scale (default 1). Change them later with ctx.setLoras(). */
  loras?: LoraSpec[];
  /**
   * When a generation fills its sequence, keep the first tokens (`keep`), drop the oldest half of the
   * rest and go on, as llama.cpp's `--context-shift` (n_discard = (n_past - n_keep) / 2). `true` is
   * `{ keep: 0 }`. Default false: the generation ends with stopReason "contextFull". Refused (at
   * createContext) for models whose memory cannot shift positions.
   */
  contextShift?: boolean | ContextShiftOptions;
  /**
   * Speculative decoding (llama.cpp's common/speculative): each step, tokens are drafted after a
   * stream's next token, by a small draft model (`{ draft: { model } }`) or by looking up the last
   * tokens earlier in the sequence (`{ ngram: true }`), and the model checks them all in one decode.
   * Drafted tokens are kept while each is the token the stream's own sampler picks, so the output is
   * the same as without speculation; `timings.draftedTokens` / `acceptedTokens` count them. Not with
   * `embeddings`, nor for recurrent or hybrid models. Default: none.
   */
  speculative?: SpeculativeOptions;
}

const p = (key: keyof NativeParams<"Context.create">) => v.param("Context.create", key);

export const parseContextOptions = defineOptions<ContextOptions>("createContext options", {
  contextSize: p("contextSize"),
  batchSize: p("batchSize"),
  ubatchSize: p("ubatchSize"),
  threads: p("threads"),
  batchThreads: p("batchThreads"),
  threadPoll: p("threadPoll"),
  adaptiveThreads: v.bool,
  embeddings: v.bool,
  pooling: p("pooling"),
  seed: v.int(0, 0xffffffff),
  sequences: p("sequences"),
  unifiedKvCache: v.bool,
  loras: v.any<LoraSpec[]>(),
  speculative: (value, name) => {
    const o = parseSpeculative(value);
    if ((o.draft === undefined) === (o.ngram === undefined || o.ngram === false)) {
      throw new TypeError(`${name} must have one of draft or ngram; got ${describe(value)}`);
    }
    return o as SpeculativeOptions;
  },
  contextShift: (value, name) => {
    if (typeof value === "boolean") return value;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`${name} must be a boolean or { keep }; got ${describe(value)}`);
    }
    return parseContextShift(value) as ContextShiftOptions;
  },
});

const parseContextShift = defineOptions<ContextShiftOptions>("contextShift options", {
  keep: v.param("Context.create", "contextShiftKeep"),
});

const parseDraft = defineOptions<DraftModelOptions>("speculative.draft options", {
  model: (value, name) => {
    if (value === null || typeof value !== "object" || !("native" in value)) {
      throw new TypeError(`${name} must be a Model (from loadModel()); got ${describe(value)}`);
    }
    return value as DraftModel;
  },
  max: v.param("Context.create", "draftMax"),
  min: v.param("Context.create", "draftMin"),
  pMin: v.param("Context.create", "draftPMin"),
});

const parseNgram = defineOptions<NgramOptions>("speculative.ngram options", {
  sizeN: v.param("Context.create", "ngramSizeN"),
  sizeM: v.param("Context.create", "ngramSizeM"),
});

const parseSpeculative = defineOptions<SpeculativeOptions>("speculative options", {
  draft: (value, name) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`${name} must be { model, max?, min?, pMin? }; got ${describe(value)}`);
    }
    const o = parseDraft(value);
    if (o.model === undefined) throw new TypeError(`${name}.model is required (the draft Model)`);
    return o as DraftModelOptions;
  },
  ngram: (value, name) => {
    if (typeof value === "boolean") return value;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(`${name} must be a boolean or { sizeN?, sizeM? }; got ${describe(value)}`);
    }
    return parseNgram(value) as NgramOptions;
  },
});

/** Default thread count: every core the process may use. */
export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The complete native params for `options`, every default filled in. */
export function toNativeContextParams(
  options: ReturnType<typeof parseContextOptions>,
  trainedContext: number,
): NativeParams<"Context.create"> {
  const o = options;
  const embeddings = o.embeddings ?? false;
  const contextSize = o.contextSize ?? Math.min(trainedContext > 0 ? trainedContext : 4096, 4096);
  const batchSize = Math.min(o.batchSize ?? (embeddings ? contextSize : 512), contextSize);
  const ubatchSize = Math.min(o.ubatchSize ?? (embeddings ? batchSize : 512), batchSize);
  // llama.cpp needs an output slot per sequence in a batch: a given count above batchSize is an
  // error (native says so); the default for embeddings shrinks to fit a small batch.
  const sequences = o.sequences ?? Math.min(embeddings ? 64 : 1, batchSize);
  if (sequences > batchSize) {
    throw new RangeError(
      `sequences (${sequences}) must not exceed batchSize (${batchSize}): each sequence needs an output slot in a batch`,
    );
  }
  if (o.pooling === "rank" && !embeddings) {
    throw new RangeError('pooling "rank" needs embeddings: true (a rank context scores pairs, it does not generate)');
  }
  const threads = o.threads ?? defaultThreads();
  return {
    contextSize,
    batchSize,
    ubatchSize,
    sequences,
    threads,
    batchThreads: o.batchThreads ?? threads,
    threadPoll: o.threadPoll ?? 50,
    adaptiveThreads: o.adaptiveThreads ?? true,
    embeddings,
    pooling: o.pooling ?? "default",
    unifiedKvCache: o.unifiedKvCache ?? false,
    contextShift: o.contextShift !== undefined && o.contextShift !== false,
    contextShiftKeep: typeof o.contextShift === "object" ? (o.contextShift.keep ?? 0) : 0,
    ...toNativeSpeculative(o.speculative),
  };
}

function toNativeSpeculative(
  s: SpeculativeOptions | undefined,
): Pick<NativeParams<"Context.create">, "speculative" | "draftMax" | "draftMin" | "draftPMin" | "ngramSizeN" | "ngramSizeM"> {
  const draft = s?.draft;
  const ngram = typeof s?.ngram === "object" ? s.ngram : {};
  const draftMax = draft?.max ?? 3;
  const draftMin = draft?.min ?? 0;
  if (draftMin > draftMax) {
    throw new RangeError(`speculative.draft.min (${draftMin}) must not exceed speculative.draft.max (${draftMax})`);
  }
  return {
    speculative: draft ? "draft" : s?.ngram ? "ngram" : "none",
    draftMax,
    draftMin,
    draftPMin: draft?.pMin ?? 0,
    ngramSizeN: ngram.sizeN ?? 12,
    ngramSizeM: ngram.sizeM ?? 48,
  };
}
