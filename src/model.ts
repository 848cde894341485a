// Model: loadModel(), tokenization, model facts, child contexts.
import fs from "node:fs";
import { promisify } from "node:util";
import { binding, type NativeModel } from "./binding";
import { TemplateCache, parseApplyOptions, toNativeRequest, toTemplateResult } from "./chat/templates";
import type { ApplyChatTemplateOptions, ChatMessage, ChatTemplateResult, ToolDefinition } from "./chat/types";
import type { NativeChatTemplates } from "./chat-binding";
import { type Context, createContext } from "./context";
import type { ContextOptions } from "./context-options";
import { AbortError, DisposedError, InvalidModelFileError, ModelLoadError, callSite, withCallerStack } from "./errors";
import { readGgufInfo, validateModelFile } from "./gguf";
import { type LoraAdapter, newLoraAdapter, validateLoraFile } from "./lora";
import { type Modalities, type Projector, type ProjectorOptions, loadProjector } from "./projector";
import type { DetokenizeOptions, ModelDevicePlacement, ModelInfo, TokenToPieceOptions, TokenizeOptions, Vocab } from "./model-types";
import type { NativeParams } from "./native-params";
import { defineOptions, v } from "./options";
import { type PreflightOptions, preflightLoad } from "./preflight";
import { checkTokens, describe } from "./validate";

export interface LoadModelOptions {
  /**
   * Layers to offload from the local CPU to the GPU or to the RPC workers (`rpcServers`): -1 = all,
   * 0 = none. Default: llama.cpp's (all).
   */
  gpuLayers?: number;
  /** Memory-map the weights (default: llama.cpp's choice, mmap where supported). */
  useMmap?: boolean;
  /** Load only the vocabulary: tokenize/detokenize work, contexts cannot be created. */
  vocabOnly?: boolean;
  /** Have llama.cpp check the tensor data while loading (NaN/Inf values, invalid quantized blocks); slower. Default false. */
  checkTensors?: boolean;
  /**
   * ggml RPC workers ("host:port", started with `npx llama-native rpc-server`) whose devices hold
   * part of the model, as llama.cpp's `--rpc` (docs/rpc.md). An unreachable worker is a ModelLoadError
   * naming it (after at most GGML_RPC_CONNECT_TIMEOUT_MS, default 10 s); a worker lost later makes
   * generation fail with RpcError. Default: none.
   */
  rpcServers?: readonly string[];
  /**
   * The share of the offloaded layers each device gets, in device order: the RPC workers' devices
   * first, then local GPUs (llama.cpp's `--tensor-split`, e.g. [3, 1]). Default: by free memory.
   */
  tensorSplit?: readonly number[];
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
  /**
   * A multimodal projector GGUF ("mmproj") to load with the model, so that prompts can hold images or
   * audio (model.loadProjector() with default options). Default: none.
   */
  projector?: string;
}

const parseTokenizeOptions = defineOptions<TokenizeOptions>("tokenize options", { addSpecial: v.bool, parseSpecial: v.bool });
const parseDetokenizeOptions = defineOptions<DetokenizeOptions>("detokenize options", { removeSpecial: v.bool, unparseSpecial: v.bool });
const parseTokenToPieceOptions = defineOptions<TokenToPieceOptions>("tokenToPiece options", { special: v.bool });

/**
 * Loads a GGUF model. The header is validated in TypeScript first; the weights load on a native
 * thread, so the event loop keeps running.
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  const site = callSite();
  if (typeof path !== "string" || path.length === 0) throw new TypeError(`path must be a non-empty string; got ${describe(path)}`);
  const o = parseLoadOptions(options);
  const native: NativeParams<"Model.load"> = {
    gpuLayers: o.gpuLayers ?? -1,
    loadMode: o.useMmap === undefined ? "auto" : o.useMmap ? "mmap" : "none",
    vocabOnly: o.vocabOnly ?? false,
    checkTensors: o.checkTensors ?? false,
    rpcServers: [...(o.rpcServers ?? [])],
    tensorSplit: [...(o.tensorSplit ?? [])],
  };
  const signal = o.signal;
  if (signal?.aborted) throw new AbortError("model load was aborted before it started", { cause: signal.reason });
  const preflightMs =
    o.preflight === undefined || o.preflight === false
      ? undefined
      : (parsePreflightOptions(o.preflight === true ? {} : o.preflight).timeoutMs ?? 300_000);

  try {
    await promisify(fs.access)(path);
  } catch {
    throw withCallerStack(new ModelLoadError(`model file not found: ${path}`), site);
  }
  try {
    await validateModelFile(path, { tensors: !native.vocabOnly });
  } catch (e) {
    if (e instanceof InvalidModelFileError) throw withCallerStack(e, site);
    throw e;
  }
  if (signal?.aborted) throw new AbortError("model load was aborted", { cause: signal.reason });
  if (preflightMs !== undefined) {
    const { gpuLayers, useMmap, vocabOnly, checkTensors } = o;
    try {
      await preflightLoad(path, { gpuLayers, useMmap, vocabOnly, checkTensors }, preflightMs);
    } catch (e) {
      throw withCallerStack(e, site);
    }
    if (signal?.aborted) throw new AbortError("model load was aborted", { cause: signal.reason });
  }

  const b = binding();
  const flag = new b.AbortFlag();
  const onAbort = () => flag.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const onProgress = o.onProgress;
  try {
    const handle = await b.Model.load(path, native, flag, onProgress ? (p) => safeCall(onProgress, p) : undefined);
    const model = new Model(handle, path, MODEL_TOKEN);
    if (o.projector !== undefined) {
      try {
        await model.loadProjector(o.projector);
      } catch (e) {
        await model.dispose();
        throw e;
      }
    }
    return model;
  } catch (e) {
    throw withCallerStack(e, site);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

const parseLoadOptions = defineOptions<LoadModelOptions>("loadModel options", {
  gpuLayers: v.param("Model.load", "gpuLayers"),
  useMmap: v.bool,
  vocabOnly: v.bool,
  checkTensors: v.bool,
  rpcServers: (value, name) => {
    if (!Array.isArray(value) || value.some((s) => typeof s !== "string" || !/^[^:\s]+:\d{1,5}$/.test(s))) {
      throw new TypeError(`${name} must be an array of "host:port" strings; got ${describe(value)}`);
    }
    for (const s of value as string[]) {
      const port = Number(s.slice(s.lastIndexOf(":") + 1));
      if (port < 1 || port > 65535) throw new RangeError(`${name}: port must be in [1, 65535]; got ${JSON.stringify(s)}`);
    }
    if (value.length > 16) throw new RangeError(`${name}: at most 16 servers (GGML_RPC_MAX_SERVERS); got ${value.length}`);
    return value as string[];
  },
  tensorSplit: (value, name) => {
    if (!Array.isArray(value) || value.some((x) => typeof x !== "number" || !Number.isFinite(x) || x < 0 || x > 1e9)) {
      throw new TypeError(`${name} must be an array of non-negative numbers; got ${describe(value)}`);
    }
    return value as number[];
  },
  onProgress: v.fn<(progress: number) => void>(),
  signal: v.signal,
  projector: (value, name) => {
    if (typeof value !== "string" || value.length === 0) throw new TypeError(`${name} must be a non-empty path; got ${describe(value)}`);
    return value;
  },
  preflight: (value, name) => {
    if (typeof value === "boolean") return value;
    if (value === null || typeof value !== "object")
      throw new TypeError(`${name} must be a boolean or { timeoutMs }; got ${describe(value)}`);
    return value as PreflightOptions;
  },
});

const parsePreflightOptions = defineOptions<PreflightOptions>("preflight options", {
  timeoutMs: v.int(1, 2 ** 31 - 1),
});

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
const NO_MEDIA: Readonly<Modalities> = Object.freeze({ vision: false, audio: false });

export type { DetokenizeOptions, ModelDevicePlacement, ModelInfo, TokenToPieceOptions, TokenizeOptions, Vocab };

export class Model {
  readonly path: string;
  #info: ModelInfo;
  readonly vocab: Vocab;
  #native: NativeModel | undefined;
  #contexts = new Set<Context>();
  #loras = new Set<LoraAdapter>();
  #projector: Projector | undefined;
  #disposing: Promise<void> | undefined;
  #templates = new TemplateCache(() => this.#live());

  /** @internal bytes of the longest token text (see NativeVocab) */
  readonly maxTokenBytes: number;

  /** @internal use loadModel() */
  constructor(native: NativeModel, path: string, token: symbol) {
    if (token !== MODEL_TOKEN) throw new TypeError("use loadModel() to create a Model");
    this.#native = native;
    this.path = path;
    const i = native.info();
    this.#info = Object.freeze({ ...i, metadata: Object.freeze(i.metadata), modalities: NO_MEDIA });
    const v = native.vocab();
    this.vocab = Object.freeze({
      bos: v.bos,
      eos: v.eos,
      eot: v.eot,
      sep: v.sep,
      size: v.size,
      addBos: v.addBos,
      addEos: v.addEos,
      addSep: v.addSep,
      isEog: (token: number) => this.#live().isEog(token),
    });
    this.maxTokenBytes = v.maxTokenBytes;
  }

  /** Facts about the model, as llama.cpp reports them; `modalities` says which media its projector takes. */
  get info(): ModelInfo {
    return this.#info;
  }

  /** The multimodal projector loaded for this model (loadProjector()), if any. */
  get projector(): Projector | undefined {
    return this.#projector;
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
    const o = parseTokenizeOptions(options);
    return this.#live().tokenize(text, o.addSpecial ?? true, o.parseSpecial ?? false);
  }

  /** Token ids to text. */
  detokenize(tokens: Int32Array | readonly number[], options: DetokenizeOptions = {}): string {
    const native = this.#live();
    const t = checkTokens("tokens", tokens, this.vocab.size);
    const o = parseDetokenizeOptions(options);
    return native.detokenize(t, o.removeSpecial ?? false, o.unparseSpecial ?? false);
  }

  /** The text of one token (special tokens rendered as their text unless `special: false`). */
  tokenToPiece(token: number, options: TokenToPieceOptions = {}): string {
    const native = this.#live();
    checkTokens("token", [token], this.vocab.size);
    return native.tokenToPiece(token, parseTokenToPieceOptions(options).special ?? true);
  }

  /** The model's chat template (the GGUF's `tokenizer.chat_template`), if it has one. */
  get chatTemplate(): string | undefined {
    const t = this.info.metadata["tokenizer.chat_template"];
    return typeof t === "string" ? t : undefined;
  }

  /**
   * Renders messages with the model's chat template (or `options.template`) through llama.cpp's chat
   * pipeline, as llama-server's `/apply-template` would: the prompt, and the grammar, triggers and
   * stop strings a generation of it uses. A model without a template gets llama.cpp's ChatML fallback.
   */
  async applyChatTemplate(messages: readonly ChatMessage[], options: ApplyChatTemplateOptions = {}): Promise<ChatTemplateResult> {
    const site = callSite();
    const o = parseApplyOptions(options);
    try {
      const templates = await this.chatTemplates(o.template);
      const request = toNativeRequest(messages, { ...o, tools: o.tools as ToolDefinition[] | undefined });
      return toTemplateResult(await templates.apply(JSON.stringify(request)));
    } catch (e) {
      throw withCallerStack(e, site);
    }
  }

  /** @internal the parsed chat templates for a template source (default: the model's own) */
  chatTemplates(template?: string): Promise<NativeChatTemplates> {
    this.#live();
    if (this.#disposing) throw new DisposedError("model");
    return this.#templates.get(template);
  }

  /** Creates an inference context (KV cache) on a native thread. */
  async createContext(options: ContextOptions = {}): Promise<Context> {
    const site = callSite();
    this.#live();
    if (this.#disposing) throw new DisposedError("model");
    const ctx = await createContext(this, options, site);
    if (this.#disposing) {
      await ctx.dispose();
      throw new DisposedError("model");
    }
    this.#contexts.add(ctx);
    return ctx;
  }

  /**
   * Loads a LoRA adapter for this model (on a native thread). The file is checked first: a GGUF with
   * general.type "adapter", this model's architecture, and lora_a/lora_b tensors that fit the model's
   * (else InvalidModelFileError naming the problem). Apply it with createContext({ loras }) or
   * ctx.setLoras(). Disposing the model disposes its adapters.
   */
  async loadLora(path: string): Promise<LoraAdapter> {
    const site = callSite();
    const native = this.#live();
    if (this.#disposing) throw new DisposedError("model");
    if (typeof path !== "string" || path.length === 0) throw new TypeError(`path must be a non-empty string; got ${describe(path)}`);
    try {
      await validateLoraFile(path, await readGgufInfo(this.path));
      const handle = await binding().LoraAdapter.load(native, path);
      const adapter = newLoraAdapter(handle, path, this);
      if (this.#disposing) {
        await adapter.dispose();
        throw new DisposedError("model");
      }
      this.#loras.add(adapter);
      return adapter;
    } catch (e) {
      throw withCallerStack(e, site);
    }
  }

  /**
   * Loads a multimodal projector ("mmproj" GGUF, llama.cpp's mtmd) for this model, so that prompts can
   * hold images (and audio, for an audio projector): `ctx.complete(text, { media })` with one
   * MEDIA_MARKER per medium, or chat messages with image and audio parts. The file is checked first (a
   * GGUF of architecture "clip" with an encoder, else InvalidModelFileError); a projector for another
   * model (its output width is not this model's embedding width) is a ModelLoadError. It replaces the
   * model's previous projector; `model.info.modalities` then says what it takes.
   */
  async loadProjector(path: string, options: ProjectorOptions = {}): Promise<Projector> {
    const site = callSite();
    const native = this.#live();
    if (this.#disposing) throw new DisposedError("model");
    try {
      const projector = await loadProjector(native, path, options);
      if (this.#disposing) {
        await projector.dispose();
        throw new DisposedError("model");
      }
      await this.#projector?.dispose();
      this.#projector = projector;
      this.#info = Object.freeze({ ...this.#info, modalities: projector.modalities });
      return projector;
    } catch (e) {
      throw withCallerStack(e, site);
    }
  }

  /** @internal */
  forgetContext(ctx: Context): void {
    this.#contexts.delete(ctx);
  }

  /**
   * Disposes the contexts created from this model (cancelling their work) and its LoRA adapters, then frees the weights.
   * Idempotent; later calls return the same promise.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      await Promise.allSettled([...this.#contexts].map((c) => c.dispose()));
      await Promise.allSettled([...this.#loras].map((a) => a.dispose()));
      await this.#projector?.dispose();
      await this.#templates.dispose();
      this.#native?.dispose();
      this.#native = undefined;
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
