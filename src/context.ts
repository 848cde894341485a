// Context: a KV cache and its native generation loop, embeddings, and the per-context queue.
import os from "node:os";
import { binding, type NativeAbortFlag, type NativeContext, type NativeContextInfo } from "./binding";
import { AbortError, ContextFullError, DisposedError, callSite, toLlamaError } from "./errors";
import type { Model } from "./model";
import { type GenerationOptions, toNativeGenerationOptions } from "./sampling";
import { checkBool, checkInt, checkObject, checkOneOf, checkSignal, checkTokens, describe } from "./validate";

export type Pooling = "default" | "none" | "mean" | "cls" | "last";

export interface ContextOptions {
  /** KV cache size in tokens. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Most tokens decoded in one llama_decode call (prompts are split into such chunks). Default 512 (embeddings: contextSize). */
  batchSize?: number;
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
  /** Create an embedding context (ctx.embed) instead of a generation context. Default false. */
  embeddings?: boolean;
  /** How token embeddings are pooled into one vector. Default: the model's own (llama.cpp's default). */
  pooling?: Pooling;
  /** Default seed for this context's sampling (generation options may override). Default: random. */
  seed?: number;
  /**
   * Parallel sequences the KV cache holds. With more than one, that many generate() calls run at once,
   * sharing each decode step (continuous batching); further calls wait for a free sequence in call
   * order. Each sequence gets `contextSize / sequences` cells (llama.cpp rounds a share up to a
   * multiple of 256) unless `unifiedKvCache` lets them share all of it. Embeddings: inputs per batch.
   * Default 1 (embeddings 64).
   */
  sequences?: number;
  /**
   * With several sequences: true lets them share one KV cache of `contextSize` cells (a sequence may
   * use it all; attention spans every cell), false gives each `contextSize / sequences` cells of its
   * own (faster attention when many streams run at once). Default false.
   */
  unifiedKvCache?: boolean;
}

export interface GenerationChunk {
  /** New text; always whole UTF-8 characters (a character split across tokens arrives whole). */
  text: string;
  /** The last token sampled for this chunk. */
  token: number;
  /**
   * Every token sampled since the previous chunk. Usually one; tokens that come within a millisecond
   * of the previous chunk are grouped (the JS thread wakes at most about 1000 times a second per
   * stream), and a token whose text is held back (half a character, the start of a stop string)
   * arrives with the text that completes it.
   */
  tokens: Int32Array;
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
}

export interface GenerationResult {
  stopReason: StopReason;
  /** The KV cache sequence the generation ran in (-1 when it was aborted before it started). */
  sequence: number;
  timings: Timings;
}

export interface CompletionResult extends GenerationResult {
  text: string;
  tokens: Int32Array;
}

export interface EmbedOptions {
  /** L2-normalize each vector (default true). */
  normalize?: boolean;
  signal?: AbortSignal;
}

const CONTEXT_TOKEN = Symbol("Context");

/** @internal */
export async function createContextInternal(model: Model, options: ContextOptions, site: Error): Promise<Context> {
  const o = checkObject("options", options) as ContextOptions;
  const native: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) native[k] = v;
  };
  const max = 1 << 24;
  set("contextSize", checkInt("contextSize", o.contextSize, 1, max));
  set("batchSize", checkInt("batchSize", o.batchSize, 1, max));
  set("threads", checkInt("threads", o.threads, 1, 1024) ?? defaultThreads());
  set("batchThreads", checkInt("batchThreads", o.batchThreads, 1, 1024));
  set("threadPoll", checkInt("threadPoll", o.threadPoll, 0, 100));
  set("embeddings", checkBool("embeddings", o.embeddings));
  set("pooling", checkOneOf<Pooling>("pooling", o.pooling, ["default", "none", "mean", "cls", "last"]));
  set("sequences", checkInt("sequences", o.sequences, 1, 256));
  set("unifiedKvCache", checkBool("unifiedKvCache", o.unifiedKvCache));
  const seed = checkInt("seed", o.seed, 0, 0xffffffff);
  try {
    const handle = await binding().Context.create(model.native, native);
    return new Context(model, handle, seed, CONTEXT_TOKEN);
  } catch (e) {
    throw toLlamaError(e, site);
  }
}

/** Default thread count: every core the process may use. */
export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export class Context {
  readonly model: Model;
  readonly info: Readonly<NativeContextInfo>;
  readonly seed: number | undefined;
  #native: NativeContext | undefined;
  #tail: Promise<unknown> = Promise.resolve(); // settles when everything called so far has settled
  #barrier: Promise<unknown> = Promise.resolve(); // settles when the last exclusive operation has settled
  #current = new Set<NativeAbortFlag>();
  #disposing: Promise<void> | undefined;

  /** @internal use model.createContext() */
  constructor(model: Model, native: NativeContext, seed: number | undefined, token: symbol) {
    if (token !== CONTEXT_TOKEN) throw new TypeError("use model.createContext() to create a Context");
    this.model = model;
    this.#native = native;
    this.seed = seed;
    this.info = Object.freeze(native.info());
  }

  get disposed(): boolean {
    return this.#native === undefined || this.#disposing !== undefined;
  }

  #live(): NativeContext {
    if (!this.#native || this.#disposing) throw new DisposedError("context");
    return this.#native;
  }

  /** Runs `op` after every earlier operation on this context has settled (one at a time). */
  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op);
    this.#tail = this.#barrier = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `op` after the last exclusive operation, alongside other shared ones (generations on a
   * context with several sequences: the native engine runs them together and queues the excess).
   */
  #enqueueShared<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#barrier.then(op);
    const settled = run.catch(() => undefined);
    const tail = this.#tail;
    this.#tail = Promise.all([tail, settled]);
    return run;
  }

  #promptTokens(prompt: string | Int32Array | readonly number[]): Int32Array {
    if (typeof prompt === "string") {
      if (prompt.length === 0) throw new RangeError("prompt is empty");
      // Tokenizing is synchronous: refuse a text that cannot fit before spending the time on it.
      const bytes = Buffer.byteLength(prompt, "utf8");
      const atLeast = this.model.maxTokenBytes > 0 ? Math.ceil(bytes / this.model.maxTokenBytes) : 0;
      if (atLeast > this.info.sequenceContextSize) {
        throw new ContextFullError(
          `the prompt is ${bytes} bytes, at least ${atLeast} tokens, but a sequence of this context holds ${this.info.sequenceContextSize}; ` +
            "create a context with a larger contextSize",
        );
      }
      return this.model.tokenize(prompt, { addSpecial: true, parseSpecial: true });
    }
    return checkTokens("prompt", prompt, this.model.vocab.size);
  }

  /** The tokens a sequence (default 0) of the KV cache holds, for the next call to extend. */
  cachedTokens(sequence = 0): Int32Array {
    const native = this.#live();
    return native.cachedTokens(checkInt("sequence", sequence, 0, this.info.sequences - 1));
  }

  /**
   * Streams a generation. The loop (prompt decode, sampling, detokenization) runs natively on its own
   * thread; chunks arrive as they are produced. Calls on one context run one at a time, in call order.
   * A prompt that extends what the context already holds reuses that prefix of the KV cache.
   * The generator's return value is the GenerationResult. Breaking out of the loop stops the generation.
   */
  async *generate(
    prompt: string | Int32Array | readonly number[],
    options: GenerationOptions = {},
  ): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
    const site = callSite();
    this.#live();
    const tokens = this.#promptTokens(prompt);
    if (tokens.length === 0) throw new RangeError("prompt is empty: it tokenized to no tokens");
    const { native: nativeOptions, signal } = toNativeGenerationOptions(
      options,
      this.model.vocab.size,
      this.info.sequenceContextSize,
      this.seed,
      this.info.sequences,
    );

    const queue: GenerationChunk[] = [];
    let head = 0;
    let wake: (() => void) | undefined;
    let settled = false;
    let result: GenerationResult | undefined;
    let failure: unknown;
    const flag = new (binding().AbortFlag)();
    const onAbort = () => flag.abort();

    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    const run = async () => {
      started();
      const native = this.#live();
      if (signal?.aborted) flag.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#current.add(flag);
      try {
        const r = await native.generate(tokens, nativeOptions, flag, (text, toks) => {
          queue.push({ text, token: toks[toks.length - 1] ?? -1, tokens: toks });
          wake?.();
        });
        const { stopReason, sequence, ...timings } = r;
        result = { stopReason, sequence, timings };
      } finally {
        this.#current.delete(flag);
        signal?.removeEventListener("abort", onAbort);
      }
    };
    const done = this.info.sequences > 1 ? this.#enqueueShared(run) : this.#enqueue(run);
    done.then(
      () => {
        settled = true;
        wake?.();
      },
      (e) => {
        failure = toLlamaError(e, site);
        settled = true;
        wake?.();
      },
    );
    try {
      while (true) {
        if (head < queue.length) {
          const chunk = queue[head]!;
          queue[head++] = undefined as unknown as GenerationChunk;
          yield chunk;
          continue;
        }
        if (settled) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure !== undefined) throw failure;
      return result!;
    } finally {
      if (!settled) {
        // The consumer stopped early (break/return/throw): stop the native loop and wait for it, so
        // the next call on this context starts from a consistent KV cache.
        flag.abort();
        await startedP.then(() => done).catch(() => undefined);
      }
    }
  }

  /** Runs a generation to the end and returns its text, tokens, stop reason and timings. */
  async complete(prompt: string | Int32Array | readonly number[], options: GenerationOptions = {}): Promise<CompletionResult> {
    let text = "";
    const parts: Int32Array[] = [];
    let n = 0;
    const it = this.generate(prompt, options);
    while (true) {
      const r = await it.next();
      if (r.done) {
        const tokens = new Int32Array(n);
        let at = 0;
        for (const p of parts) {
          tokens.set(p, at);
          at += p.length;
        }
        return { text, tokens, stopReason: r.value.stopReason, sequence: r.value.sequence, timings: r.value.timings };
      }
      text += r.value.text;
      parts.push(r.value.tokens);
      n += r.value.tokens.length;
    }
  }

  /**
   * Embeds one text (→ Float32Array) or several (→ Float32Array[], in one batched native call).
   * Needs a context created with `embeddings: true`. With pooling "none" each result holds every
   * token's vector, one after another.
   */
  embed(input: string, options?: EmbedOptions): Promise<Float32Array>;
  embed(input: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  async embed(input: string | readonly string[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    const site = callSite();
    this.#live();
    const single = typeof input === "string";
    if (!single && !Array.isArray(input)) throw new TypeError(`input must be a string or an array of strings; got ${describe(input)}`);
    const texts = single ? [input] : (input as readonly string[]);
    const inputs = texts.map((t, i) => {
      if (typeof t !== "string") throw new TypeError(`input[${i}] must be a string; got ${describe(t)}`);
      const toks = this.model.tokenize(t, { addSpecial: true, parseSpecial: true });
      if (toks.length === 0) throw new RangeError(`input[${i}] is empty: nothing to embed`);
      return toks;
    });
    const o = checkObject("options", options) as EmbedOptions;
    const normalize = checkBool("normalize", o.normalize) ?? true;
    const signal = checkSignal("signal", o.signal);
    if (inputs.length === 0) return [];
    const flag = new (binding().AbortFlag)();
    const onAbort = () => flag.abort();
    try {
      const out = await this.#enqueue(async () => {
        const native = this.#live();
        if (signal?.aborted) throw new AbortError("embedding was aborted", { cause: signal.reason });
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#current.add(flag);
        try {
          return await native.embed(inputs, normalize, flag);
        } finally {
          this.#current.delete(flag);
          signal?.removeEventListener("abort", onAbort);
        }
      });
      return single ? out[0]! : out;
    } catch (e) {
      throw toLlamaError(e, site);
    }
  }

  /**
   * Empties the KV cache, or one sequence of it (the next prompt is decoded from the start). Waits for
   * running work.
   */
  clearCache(sequence?: number): Promise<void> {
    this.#live();
    const seq = checkInt("sequence", sequence, 0, this.info.sequences - 1);
    return this.#enqueue(async () => this.#live().clearCache(seq));
  }

  /**
   * Frees the KV cache. Running work is cancelled (a generation ends with stopReason "abort"), queued
   * work rejects with DisposedError. Idempotent; later calls return the same promise.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      for (const flag of this.#current) flag.abort();
      await this.#tail;
      this.#native?.dispose();
      this.#native = undefined;
      this.model.forgetContext(this);
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
