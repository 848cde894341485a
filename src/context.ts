// Context: a KV cache and its native generation loop, embeddings, and the sequences it hands out.
import { binding, type NativeAbortFlag, type NativeContext, type NativeContextInfo } from "./binding";
import { ChunkStream } from "./chunk-stream";
import { type ContextOptions, parseContextOptions, toNativeContextParams } from "./context-options";
import { ContextFullError, DisposedError, InvalidMediaError, LlamaError, callSite, withCallerStack } from "./errors";
import { tokenizeMedia } from "./projector";
import { type LoraSpec, toNativeLoras } from "./lora";
import type { CompletionResult, GenerationChunk, GenerationResult, TokenLogprob } from "./generation-types";
import { OpQueue } from "./op-queue";
import { type GenerationOptions, parseGenerationOptions, toNativeGenerateParams } from "./sampling";
import { Sequence, type SequenceHost, newSequence } from "./sequence";
import { type StateOptions, parseStateOptions } from "./state";
import { type EmbedOptions, type OpsHost, embedTexts, stateOps } from "./context-ops";
import { type RankOptions, checkRankModel, rankDocuments } from "./rank";
import { checkInt, checkTokens } from "./validate";
import { chatComplete, chatStream } from "./chat/chat";
import { responseFormatGrammar, parseJsonAnswer } from "./chat/json-schema";
import { ChatSession, type ChatSessionOptions, type SessionHost } from "./chat/session";
import type { ChatChunk, ChatMessage, ChatOptions, ChatResult } from "./chat/types";

export type { EmbedOptions, RankOptions };
import type { ContextModel, ContextParent } from "./context-types";

export type { ContextModel, ContextParent };

const CONTEXT_TOKEN = Symbol("Context");

/** @internal model.createContext() */
export async function createContext(model: ContextParent, options: ContextOptions, site: Error): Promise<Context> {
  const o = parseContextOptions(options);
  const params = toNativeContextParams(o, model.info.contextLength);
  const loras = o.loras === undefined ? undefined : toNativeLoras("loras", o.loras, model);
  try {
    if (o.speculative !== undefined && o.embeddings) {
      throw new RangeError("speculative decoding needs a generation context; it is not available with embeddings: true");
    }
    const draft = o.speculative?.draft?.model.native;
    const handle = await binding().Context.create(model.native, params, draft);
    const info = handle.info();
    if (info.embeddings && info.pooling === "rank") {
      try {
        await checkRankModel(model);
      } catch (e) {
        handle.dispose();
        throw e;
      }
    }
    if (loras?.length) {
      try {
        handle.setLoras(loras);
      } catch (e) {
        handle.dispose();
        throw e;
      }
    }
    return new Context(model, handle, o.seed, CONTEXT_TOKEN);
  } catch (e) {
    throw withCallerStack(e, site);
  }
}

type Prompt = string | Int32Array | readonly number[];

export class Context {
  /** The model this context was created from. */
  readonly model: ContextModel;
  #parent: ContextParent;
  readonly info: Readonly<NativeContextInfo>;
  readonly seed: number | undefined;
  #native: NativeContext | undefined;
  #queue = new OpQueue();
  #work = new Map<NativeAbortFlag, { sequence: number; done: Promise<unknown> }>(); // queued or running work, by its flag
  #owned = new Map<number, Sequence>();
  #disposing: Promise<void> | undefined;
  #host: SequenceHost = {
    generate: (prompt, options, sequence) => this.generate(prompt, { ...options, sequence }),
    complete: (prompt, options, sequence) => this.complete(prompt, { ...options, sequence }),
    cachedTokens: (seq) => this.cachedTokens(seq),
    clearCache: (seq) => this.clearCache(seq),
    release: (seq) => this.#release(seq),
    getState: (seq) => this.#state.getState(seq),
    setState: (seq, state) => this.#state.setState(seq, state),
    saveState: (seq, path) => this.#state.saveState(seq, path),
    loadState: (seq, path) => this.#state.loadState(seq, path),
  };
  #ops: OpsHost = {
    live: () => this.#live(),
    exclusive: (fn) => this.#queue.exclusive(fn),
    track: (flag, sequence, done) => this.#track(flag, sequence, done),
    tokenize: (text) => this.model.tokenize(text, { addSpecial: true, parseSpecial: true }),
  };
  #state = stateOps(this.#ops);
  #chatHost: { -readonly [K in keyof SessionHost]: SessionHost[K] } = {
    templates: (template) => this.#parent.chatTemplates(template),
    generateChat: (prompt, options, chatSampling) => this.#generate(prompt, options, chatSampling, callSite()),
    getSequence: () => this.getSequence(),
    countTokens: (prompt) => this.model.tokenize(prompt, { addSpecial: true, parseSpecial: true }).length,
    sequenceContextSize: 0, // set in the constructor
  };

  /** @internal use model.createContext() */
  constructor(model: ContextParent, native: NativeContext, seed: number | undefined, token: symbol) {
    if (token !== CONTEXT_TOKEN) throw new TypeError("use model.createContext() to create a Context");
    this.model = model;
    this.#parent = model;
    this.#native = native;
    this.seed = seed;
    this.info = Object.freeze(native.info());
    this.#chatHost.sequenceContextSize = this.info.sequenceContextSize;
  }

  get disposed(): boolean {
    return this.#native === undefined || this.#disposing !== undefined;
  }

  #live(): NativeContext {
    if (!this.#native || this.#disposing) throw new DisposedError("context");
    return this.#native;
  }

  #promptTokens(prompt: Prompt): Int32Array {
    if (typeof prompt === "string") {
      if (prompt.length === 0) throw new RangeError("prompt is empty");
      // Tokenizing is synchronous: refuse a text that cannot fit before spending the time on it.
      const bytes = Buffer.byteLength(prompt, "utf8");
      const atLeast = this.#parent.maxTokenBytes > 0 ? Math.ceil(bytes / this.#parent.maxTokenBytes) : 0;
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

  /** The KV sequence a generation names: a Sequence of this context, an unowned number, or -1 (any). */
  #sequenceOf(s: GenerationOptions["sequence"]): number {
    if (s === undefined) {
      if (this.#owned.size === this.info.sequences) {
        throw new LlamaError(
          `every sequence of this context (${this.info.sequences}) is owned by a Sequence: generate through one of them, ` +
            "dispose one, or create the context with more sequences",
        );
      }
      return -1;
    }
    if (s instanceof Sequence) {
      if (!s.isOf(this.#host)) throw new TypeError("sequence belongs to another context");
      if (s.disposed) throw new DisposedError("sequence");
      return s.id;
    }
    const n = checkInt("sequence", s, 0, this.info.sequences - 1)!;
    if (this.#owned.has(n)) throw new LlamaError(`sequence ${n} is owned by a Sequence object; pass that object instead of the number`);
    return n;
  }

  /** The tokens a sequence (default 0) of the KV cache holds, for the next call to extend. */
  cachedTokens(sequence = 0): Int32Array {
    const native = this.#live();
    return native.cachedTokens(checkInt("sequence", sequence, 0, this.info.sequences - 1)!);
  }

  /**
   * Streams a generation. The loop (prompt decode, sampling, detokenization) runs natively on its own
   * thread; chunks arrive as they are produced. Calls on one context run one at a time, in call order.
   * A prompt that extends what the context already holds reuses that prefix of the KV cache.
   * The generator's return value is the GenerationResult. Breaking out of the loop stops the generation.
   */
  generate(prompt: Prompt, options: GenerationOptions = {}): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
    return this.#generate(prompt, options, "", callSite());
  }

  /**
   * @internal generate() for a chat turn: `chatSampling` carries llama-server's chat sampling fields
   * as JSON (lazy grammar, triggers, preserved tokens, generation prompt; native/chat_sampling.h)
   */
  generateChat(
    prompt: Prompt,
    options: GenerationOptions,
    chatSampling: string,
  ): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
    return this.#generate(prompt, options, chatSampling, callSite());
  }

  /** chatSampling: llama-server's chat sampling fields as JSON (lazy grammar, triggers, preserved tokens, generation prompt; native/chat_sampling.h) */
  async *#generate(
    prompt: Prompt,
    options: GenerationOptions,
    chatSampling: string,
    site: Error,
  ): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
    this.#live();
    const o = parseGenerationOptions(options);
    const media = o.media?.length ? o.media : undefined;
    const projector = this.#parent.projector;
    if (media) {
      if (typeof prompt !== "string") throw new TypeError("with media, the prompt must be a string that holds one media marker per medium");
      if (!projector || projector.disposed) {
        throw new LlamaError(
          "this model has no projector for media: load one with loadModel(path, { projector }) or model.loadProjector(path)",
        );
      }
      for (const [i, m] of media.entries()) {
        if (m.type === "image" && !projector.modalities.vision)
          throw new InvalidMediaError(`media[${i}] is an image, but the projector takes only audio`);
        if (m.type === "audio" && !projector.modalities.audio)
          throw new InvalidMediaError(`media[${i}] is audio, but the projector takes only images`);
      }
    }
    const tokens = media ? new Int32Array(0) : this.#promptTokens(prompt);
    if (!media && tokens.length === 0) throw new RangeError("prompt is empty: it tokenized to no tokens");
    const sequence = this.#sequenceOf(o.sequence);
    const params = {
      ...toNativeGenerateParams(o, this.model.vocab.size, this.info.sequenceContextSize, this.seed, sequence),
      chatSampling,
    };
    if (o.responseFormat && o.responseFormat.type !== "text") {
      if (o.grammar !== undefined) throw new TypeError("grammar cannot be combined with responseFormat (both constrain the output)");
      params.grammar = responseFormatGrammar(o.responseFormat);
      params.outputFormat = true;
    }
    const signal = o.signal;
    const json = o.responseFormat !== undefined && o.responseFormat.type !== "text";
    let answer = "";
    const logprobs: TokenLogprob[] = [];

    const stream = new ChunkStream<GenerationChunk, GenerationResult>();
    const flag = new (binding().AbortFlag)();
    const onAbort = () => flag.abort();
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    // A generation still queued behind earlier calls (a one-sequence context runs them one at a
    // time) ends as soon as its signal aborts, not when its turn comes: it never started.
    let begun = false;
    let notStarted: GenerationResult | undefined;
    const whileQueued = () => {
      if (begun) return;
      notStarted = {
        stopReason: "abort",
        sequence: -1,
        timings: {
          promptTokens: tokens.length,
          evaluatedPromptTokens: 0,
          reusedTokens: 0,
          promptMs: 0,
          generatedTokens: 0,
          generateMs: 0,
          draftedTokens: 0,
          acceptedTokens: 0,
        },
      };
      if (params.topLogprobs >= 0) notStarted.logprobs = [];
      stream.end(notStarted);
    };
    const run = async () => {
      begun = true;
      signal?.removeEventListener("abort", whileQueued);
      started();
      if (notStarted) return notStarted; // ended while queued: the same result, nothing to run
      const native = this.#live();
      if (signal?.aborted) flag.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        // Media are decoded and preprocessed on a native thread, in call order with the other work
        const mp = media ? await tokenizeMedia(projector!, prompt as string, media) : undefined;
        const r = await native.generate(
          mp ? mp.tokens : tokens,
          params,
          flag,
          (text, toks, lp) => {
            if (json) answer += text;
            if (lp === undefined) {
              stream.push({ text, token: toks[toks.length - 1] ?? -1, tokens: toks });
            } else {
              for (const e of lp) logprobs.push(e);
              stream.push({ text, token: toks[toks.length - 1] ?? -1, tokens: toks, logprobs: lp });
            }
          },
          mp?.handle,
        );
        const { stopReason, sequence: seq, ...timings } = r;
        const result: GenerationResult = { stopReason, sequence: seq, timings };
        if (params.topLogprobs >= 0) result.logprobs = logprobs;
        if (json && stopReason !== "abort") result.json = parseJsonAnswer(answer, stopReason);
        return result;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    };
    const done = this.#track(flag, sequence, this.info.sequences > 1 ? this.#queue.shared(run) : this.#queue.exclusive(run));
    if (!begun) {
      if (signal?.aborted) whileQueued();
      else signal?.addEventListener("abort", whileQueued, { once: true });
    }
    done.then(
      (r) => stream.end(r),
      (e) => stream.fail(withCallerStack(e, site)),
    );
    try {
      return yield* stream.read();
    } finally {
      if (!stream.settled) {
        // The consumer stopped early (break/return/throw): stop the native loop and wait for it, so
        // the next call on this context starts from a consistent KV cache.
        flag.abort();
        await startedP.then(() => done).catch(() => undefined);
      }
    }
  }

  /** Runs a generation to the end and returns its text, tokens, stop reason and timings. */
  async complete(prompt: Prompt, options: GenerationOptions = {}): Promise<CompletionResult> {
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
        return { text, tokens, ...r.value };
      }
      text += r.value.text;
      parts.push(r.value.tokens);
      n += r.value.tokens.length;
    }
  }

  /**
   * One chat turn, streamed: the messages are rendered with the model's chat template (as
   * llama-server renders them), generated with the template's grammar and stop strings, and parsed
   * into content, reasoning and tool calls as they stream. The return value is the ChatResult.
   * See docs/chat.md.
   */
  chat(messages: readonly ChatMessage[], options: ChatOptions = {}): AsyncGenerator<ChatChunk, ChatResult, undefined> {
    this.#live();
    return chatStream(this.#chatHost, messages, options);
  }

  /** One chat turn to the end (ctx.chat() collected). */
  chatComplete(messages: readonly ChatMessage[], options: ChatOptions = {}): Promise<ChatResult> {
    this.#live();
    return chatComplete(this.#chatHost, messages, options);
  }

  /**
   * A conversation that keeps its history in a KV sequence of its own (each turn decodes only what
   * is new), runs its tools' handlers, and drops its oldest turns when the history outgrows the context.
   */
  createChatSession(options: ChatSessionOptions = {}): ChatSession {
    this.#live();
    return new ChatSession(this.#chatHost, options);
  }

  /**
   * Embeds one text (→ Float32Array) or several (→ Float32Array[], in one batched native call).
   * Needs a context created with `embeddings: true`. With pooling "none" each result holds every
   * token's vector, one after another.
   */
  embed(input: string, options?: EmbedOptions): Promise<Float32Array>;
  embed(input: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  async embed(input: string | readonly string[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    this.#live();
    return embedTexts(this.#ops, input, options, callSite());
  }

  /**
   * Scores each document's relevance to the query with the model's classification head, one number
   * per document in their order (higher: more relevant), as llama-server's `/v1/rerank` scores them.
   * Needs a context created with `{ embeddings: true, pooling: "rank" }`; the pairs are batched.
   */
  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<number[]> {
    this.#live();
    return rankDocuments(this.#ops, this.model, this.info, query, documents, options, callSite());
  }

  /**
   * Empties the KV cache, or one sequence of it (the next prompt is decoded from the start). Waits for
   * running work.
   */
  clearCache(sequence?: number): Promise<void> {
    this.#live();
    const seq = checkInt("sequence", sequence, 0, this.info.sequences - 1);
    return this.#queue.exclusive(async () => this.#live().clearCache(seq));
  }

  /**
   * Changes the LoRA adapters this context applies (an empty list removes them). Waits for running
   * work (queued like every exclusive operation); a different set of adapters or scales clears the
   * KV cache, since what it holds was computed with other weights.
   */
  async setLoras(loras: LoraSpec[]): Promise<void> {
    const site = callSite();
    this.#live();
    const pairs = toNativeLoras("loras", loras, this.#parent);
    try {
      await this.#queue.exclusive(async () => this.#live().setLoras(pairs));
    } catch (e) {
      throw withCallerStack(e, site);
    }
  }

  /** The sequence a state operation names (default 0), refused when a Sequence object owns it. */
  #stateSequence(options: StateOptions): number {
    const n = parseStateOptions(options).sequence ?? 0;
    checkInt("sequence", n, 0, this.info.sequences - 1);
    if (this.#owned.has(n))
      throw new LlamaError(`sequence ${n} is owned by a Sequence object; use its getState/setState/saveState/loadState`);
    return n;
  }

  /**
   * A sequence's state (its tokens and KV cache) as bytes in llama.cpp's sequence-state file format,
   * the same bytes saveState() writes. Waits for running work.
   */
  async getState(options: StateOptions = {}): Promise<Uint8Array> {
    this.#live();
    return this.#state.getState(this.#stateSequence(options));
  }

  /**
   * Restores a state from getState() or a state file's bytes into a sequence, replacing what it held;
   * the next generation whose prompt extends the restored tokens continues from them. Bytes that do
   * not fit this context (another model, a truncated or corrupted state) reject with
   * InvalidStateError and leave the sequence empty. Resolves with the number of tokens restored.
   */
  async setState(state: Uint8Array, options: StateOptions = {}): Promise<number> {
    this.#live();
    return this.#state.setState(this.#stateSequence(options), state);
  }

  /** Writes a sequence's state to a file with llama.cpp's llama_state_seq_save_file. Resolves with the bytes written. */
  async saveState(path: string, options: StateOptions = {}): Promise<number> {
    this.#live();
    return this.#state.saveState(this.#stateSequence(options), path);
  }

  /** Restores a state file (saveState(), or llama.cpp's llama_state_seq_save_file) into a sequence; as setState(). */
  async loadState(path: string, options: StateOptions = {}): Promise<number> {
    this.#live();
    return this.#state.loadState(this.#stateSequence(options), path);
  }

  /**
   * Takes one KV sequence of this context for the caller alone (a conversation, a saved state): other
   * generations on the context no longer run in it, and what it holds stays there between calls
   * until the Sequence is disposed. Throws a LlamaError when every sequence is owned already or
   * in use by a running generation.
   */
  getSequence(): Sequence {
    const native = this.#live();
    const id = native.acquireSequence();
    if (id < 0) {
      throw new LlamaError(
        `no free sequence: all ${this.info.sequences} of this context are owned by Sequence objects or running generations; ` +
          "dispose a Sequence, wait, or create the context with more sequences",
      );
    }
    const seq = newSequence(this.#host, id);
    this.#owned.set(id, seq);
    return seq;
  }

  /** Registers work from the moment it is called until it settles, so dispose and release can stop it. */
  #track<T>(flag: NativeAbortFlag, sequence: number, done: Promise<T>): Promise<T> {
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.#work.set(flag, { sequence, done: settled });
    void settled.then(() => this.#work.delete(flag));
    return done;
  }

  async #release(seq: Sequence): Promise<void> {
    const mine = [...this.#work].filter(([, w]) => w.sequence === seq.id);
    for (const [flag] of mine) flag.abort();
    await Promise.all(mine.map(([, w]) => w.done));
    if (this.#owned.get(seq.id) === seq) {
      this.#owned.delete(seq.id);
      if (this.#native && !this.#disposing) this.#native.releaseSequence(seq.id);
    }
  }

  /**
   * Frees the KV cache. Running work is cancelled (a generation ends with stopReason "abort"), queued
   * work rejects with DisposedError, and the context's Sequences are disposed. Idempotent; later
   * calls return the same promise.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      for (const flag of this.#work.keys()) flag.abort();
      await Promise.allSettled([...this.#owned.values()].map((s) => s.dispose()));
      await this.#queue.idle();
      this.#native?.dispose();
      this.#native = undefined;
      this.#parent.forgetContext(this);
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
