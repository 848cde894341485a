// Model: loadModel(), tokenization, model facts, child contexts.
import fs from "node:fs/promises";
import { binding, type NativeModel, type NativeModelInfo } from "./binding";
import { Context, type ContextOptions, createContextInternal } from "./context";
import { AbortError, DisposedError, InvalidModelFileError, ModelLoadError, callSite, toLlamaError } from "./errors";
import { validateModelFile } from "./gguf";
import { type PreflightOptions, preflightLoad } from "./preflight";
import { checkBool, checkFunction, checkInt, checkObject, checkSignal, checkTokens, describe } from "./validate";

export interface LoadModelOptions {
  /** Layers to offload to the GPU (GPU builds only): -1 = all, 0 = none. Default: llama.cpp's (all). */
  gpuLayers?: number;
  /** Memory-map the weights (default: llama.cpp's choice, mmap where supported). */
  useMmap?: boolean;
  /** Load only the vocabulary: tokenize/detokenize work, contexts cannot be created. */
  vocabOnly?: boolean;
  /** Called with the load progress in [0, 1] on the JS thread. */
  onProgress?: (progress: number) => void;
  /** Cancels the load: the promise rejects with AbortError and nothing stays allocated. */
  signal?: AbortSignal;
  /**
   * For files from untrusted sources: first load the model (and decode two tokens) in a child process,
   * and load it here only if that child survives. A crash there (llama.cpp aborts on some malformed
   * models) becomes a ModelLoadError naming the signal and the child's last output. Costs a second
   * load. `true`, or `{ timeoutMs }` (default 5 minutes). Default false.
   */
  preflight?: boolean | PreflightOptions;
}

/** Facts about a loaded model, as llama.cpp reports them (see NativeModelInfo for each field). */
export type ModelInfo = Readonly<NativeModelInfo>;

export interface Vocab {
  /** beginning-of-sequence token, or -1 when the vocabulary has none */
  readonly bos: number;
  /** end-of-sequence token, or -1 */
  readonly eos: number;
  /** end-of-turn token, or -1 */
  readonly eot: number;
  /** number of tokens */
  readonly size: number;
  /** whether tokenize() with addSpecial adds BOS */
  readonly addBos: boolean;
  /** true for end-of-generation tokens (EOS, EOT and the model's other stop tokens) */
  isEog(token: number): boolean;
}

export interface TokenizeOptions {
  /** Add BOS/EOS as the vocabulary asks (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as "<s>" into the special token (default false). */
  parseSpecial?: boolean;
}

export interface DetokenizeOptions {
  /** Drop a leading BOS / trailing EOS that tokenize() would have added (default false). */
  removeSpecial?: boolean;
  /** Render special tokens as their text (default false). */
  unparseSpecial?: boolean;
}

/**
 * Loads a GGUF model. The header is validated in TypeScript first; the weights load on a native
 * thread, so the event loop keeps running.
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  const site = callSite();
  if (typeof path !== "string" || path.length === 0) throw new TypeError(`path must be a non-empty string; got ${describe(path)}`);
  const o = checkObject("options", options) as LoadModelOptions;
  const native: Record<string, unknown> = {};
  const gpuLayers = checkInt("gpuLayers", o.gpuLayers, -1, 2 ** 31 - 1);
  if (gpuLayers !== undefined) native.gpuLayers = gpuLayers;
  const useMmap = checkBool("useMmap", o.useMmap);
  if (useMmap !== undefined) native.useMmap = useMmap;
  const vocabOnly = checkBool("vocabOnly", o.vocabOnly) ?? false;
  native.vocabOnly = vocabOnly;
  const onProgress = checkFunction<(p: number) => void>("onProgress", o.onProgress);
  const signal = checkSignal("signal", o.signal);
  if (signal?.aborted) throw new AbortError("model load was aborted before it started", { cause: signal.reason });
  let preflightMs: number | undefined;
  if (o.preflight !== undefined && o.preflight !== false) {
    const p = o.preflight === true ? {} : (checkObject("preflight", o.preflight) as PreflightOptions);
    preflightMs = checkInt("preflight.timeoutMs", p.timeoutMs, 1, 2 ** 31 - 1) ?? 300_000;
  }

  try {
    await fs.access(path);
  } catch {
    throw toLlamaError(new ModelLoadError(`model file not found: ${path}`), site);
  }
  try {
    await validateModelFile(path, { tensors: !vocabOnly });
  } catch (e) {
    if (e instanceof InvalidModelFileError) throw toLlamaError(e, site);
    throw e;
  }
  if (signal?.aborted) throw new AbortError("model load was aborted", { cause: signal.reason });
  if (preflightMs !== undefined) {
    try {
      await preflightLoad(path, native, preflightMs);
    } catch (e) {
      throw toLlamaError(e, site);
    }
    if (signal?.aborted) throw new AbortError("model load was aborted", { cause: signal.reason });
  }

  const b = binding();
  const flag = new b.AbortFlag();
  const onAbort = () => flag.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const handle = await b.Model.load(path, native, flag, onProgress ? (p) => safeCall(onProgress, p) : undefined);
    return new Model(handle, path, MODEL_TOKEN);
  } catch (e) {
    throw toLlamaError(e, site);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function safeCall(fn: (p: number) => void, p: number) {
  try {
    fn(p);
  } catch (e) {
    // A throwing progress listener must not break the load; surface it like an unhandled error.
    queueMicrotask(() => {
      throw e;
    });
  }
}

const MODEL_TOKEN = Symbol("Model");

export class Model {
  readonly path: string;
  readonly info: ModelInfo;
  readonly vocab: Vocab;
  #native: NativeModel | undefined;
  #contexts = new Set<Context>();
  #disposing: Promise<void> | undefined;

  /** @internal bytes of the longest token text (see NativeVocab) */
  readonly maxTokenBytes: number;

  /** @internal use loadModel() */
  constructor(native: NativeModel, path: string, token: symbol) {
    if (token !== MODEL_TOKEN) throw new TypeError("use loadModel() to create a Model");
    this.#native = native;
    this.path = path;
    const i = native.info();
    this.info = Object.freeze({ ...i, metadata: Object.freeze(i.metadata) });
    const v = native.vocab();
    this.vocab = Object.freeze({
      bos: v.bos,
      eos: v.eos,
      eot: v.eot,
      size: v.size,
      addBos: v.addBos,
      isEog: (token: number) => this.#live().isEog(token),
    });
    this.maxTokenBytes = v.maxTokenBytes;
  }

  /** @internal */
  get native(): NativeModel {
    return this.#live();
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  #live(): NativeModel {
    if (!this.#native) throw new DisposedError("model");
    return this.#native;
  }

  /** Text to token ids. */
  tokenize(text: string, options: TokenizeOptions = {}): Int32Array {
    if (typeof text !== "string") throw new TypeError(`text must be a string; got ${describe(text)}`);
    const o = checkObject("options", options) as TokenizeOptions;
    return this.#live().tokenize(text, checkBool("addSpecial", o.addSpecial) ?? true, checkBool("parseSpecial", o.parseSpecial) ?? false);
  }

  /** Token ids to text. */
  detokenize(tokens: Int32Array | readonly number[], options: DetokenizeOptions = {}): string {
    const native = this.#live();
    const t = checkTokens("tokens", tokens, this.vocab.size);
    const o = checkObject("options", options) as DetokenizeOptions;
    return native.detokenize(t, checkBool("removeSpecial", o.removeSpecial) ?? false, checkBool("unparseSpecial", o.unparseSpecial) ?? false);
  }

  /** The text of one token (special tokens rendered as their text). */
  tokenToPiece(token: number, options: { special?: boolean } = {}): string {
    const native = this.#live();
    checkTokens("token", [token], this.vocab.size);
    return native.tokenToPiece(token, checkBool("special", checkObject("options", options).special) ?? true);
  }

  /** Creates an inference context (KV cache) on a native thread. */
  async createContext(options: ContextOptions = {}): Promise<Context> {
    const site = callSite();
    this.#live();
    if (this.#disposing) throw new DisposedError("model");
    const ctx = await createContextInternal(this, options, site);
    if (this.#disposing) {
      await ctx.dispose();
      throw new DisposedError("model");
    }
    this.#contexts.add(ctx);
    return ctx;
  }

  /** @internal */
  forgetContext(ctx: Context): void {
    this.#contexts.delete(ctx);
  }

  /**
   * Disposes the contexts created from this model (cancelling their work), then frees the weights.
   * Idempotent; later calls return the same promise.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      await Promise.allSettled([...this.#contexts].map((c) => c.dispose()));
      this.#native?.dispose();
      this.#native = undefined;
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
