// The native addon's surface, typed: what src/binding.ts loads. The options objects it takes are
// declared in src/native-params.ts (and, the same, in native/params.cpp).
import type { NativeParams } from "./native-params";
import type { TokenLogprob } from "./generation-types";

export interface NativeModelInfo {
  /** general.architecture, e.g. "llama" */
  architecture: string;
  /** general.name */
  name: string;
  /** llama.cpp's one-line description: architecture, size class, file type */
  description: string;
  /** parameter count */
  nParams: number;
  /** bytes of weights */
  sizeBytes: number;
  /** the context length the model was trained with */
  contextLength: number;
  embeddingLength: number;
  /** length of the vectors ctx.embed() returns */
  embeddingOutputLength: number;
  layers: number;
  heads: number;
  headsKv: number;
  vocabSize: number;
  hasEncoder: boolean;
  hasDecoder: boolean;
  /** the model's default chat template (Jinja), when it has one */
  chatTemplate?: string;
  /** every metadata key as llama.cpp renders it (long arrays are summarized) */
  metadata: Record<string, string>;
  /**
   * Where llama.cpp placed the model: one entry per device holding layers or weights, in layer order
   * (the devices of the first layers first). Empty for a vocab-only load.
   */
  devices: ModelDevicePlacement[];
}

/** One device's share of a loaded model (model.info.devices). */
export interface ModelDevicePlacement {
  /** ggml's device name: "CPU", "CUDA0", "Metal", "RPC0"... */
  name: string;
  /** the device's description; for an RPC worker, its endpoint ("10.0.0.2:50052") */
  description: string;
  /** the kind of device */
  type: "cpu" | "gpu" | "igpu" | "accel" | "other";
  /** repeating layers computed there */
  layers: number;
  /** whether the output layer (the logits) is computed there */
  output: boolean;
  /** bytes of model weights held in the device's memory (for "cpu": the mapped file's or host buffers) */
  bytes: number;
}

export interface NativeVocab {
  bos: number;
  eos: number;
  eot: number;
  nl: number;
  size: number;
  addBos: boolean;
  addEos: boolean;
  /** separator token (BERT's [SEP]), or -1 */
  sep: number;
  addSep: boolean;
  vocabOnly: boolean;
  /** bytes of the longest token text: a text of B bytes needs at least B / maxTokenBytes tokens (0: no such bound for this vocabulary type) */
  maxTokenBytes: number;
}

export interface NativeContextInfo {
  contextSize: number;
  batchSize: number;
  ubatchSize: number;
  sequences: number;
  /** positions one sequence may use (the whole context when the KV cache is unified) */
  sequenceContextSize: number;
  threads: number;
  batchThreads: number;
  embeddings: boolean;
  pooling: string;
  canShift: boolean;
  /** a persistent ggml thread pool is attached (else ggml starts threads for every evaluation) */
  threadpool: boolean;
  /** createContext({ contextShift }) is on */
  contextShift: boolean;
  /** its keep (llama.cpp's n_keep; -1: the whole prompt) */
  contextShiftKeep: number;
  /** createContext({ speculative }): which drafter, or "none" */
  speculative: "none" | "draft" | "ngram";
}

export interface NativeGenerationResult {
  stopReason: "eog" | "maxTokens" | "stop" | "abort" | "contextFull";
  /** the KV cache sequence the generation ran in (-1 when it ended before starting) */
  sequence: number;
  promptTokens: number;
  evaluatedPromptTokens: number;
  reusedTokens: number;
  promptMs: number;
  generatedTokens: number;
  generateMs: number;
  draftedTokens: number;
  acceptedTokens: number;
}

export interface NativeAbortFlag {
  abort(): void;
  readonly aborted: boolean;
}

export interface NativeModel {
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array | readonly number[], removeSpecial: boolean, unparseSpecial: boolean): string;
  tokenToPiece(token: number, special: boolean): string;
  isEog(token: number): boolean;
  info(): NativeModelInfo;
  vocab(): NativeVocab;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeContext {
  generate(
    prompt: Int32Array,
    params: NativeParams<"Context.generate">,
    abort: NativeAbortFlag,
    /** logprobs: one per token, when params.topLogprobs >= 0 */
    onChunk: (text: string, tokens: Int32Array, logprobs?: TokenLogprob[]) => void,
    /** a prompt with media (NativeProjector.tokenize); `prompt` is then its `tokens` */
    media?: NativeMediaPrompt["handle"],
  ): Promise<NativeGenerationResult>;
  embed(inputs: Int32Array[], normalize: boolean, abort: NativeAbortFlag): Promise<Float32Array[]>;
  info(): NativeContextInfo;
  cachedTokens(sequence?: number): Int32Array;
  clearCache(sequence?: number): void;
  /** An unowned sequence no stream runs in, now owned (given only to generations that name it); -1 if none. */
  acquireSequence(): number;
  releaseSequence(sequence: number): void;
  /** The adapters applied from the next decode on ([adapter, scale] pairs); a change clears the KV cache. Refused while work runs. */
  setLoras(loras: [NativeLoraAdapter, number][]): void;
  /** A sequence's state in llama.cpp's sequence-state file format. */
  getState(sequence: number): Promise<Uint8Array>;
  /** Restores a state (checked first); resolves with the tokens the sequence now holds. */
  setState(sequence: number, state: Uint8Array): Promise<number>;
  /** llama_state_seq_save_file; resolves with the bytes written. */
  saveState(sequence: number, path: string): Promise<number>;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeLoraAdapter {
  /** The adapter's GGUF metadata as llama.cpp read it (values as strings). */
  meta(): Record<string, string>;
  dispose(): void;
  readonly disposed: boolean;
}

/** A prompt with media tokenized by mtmd (native/mtmd.h). */
export interface NativeMediaPrompt {
  /** text tokens, and for each position of a medium a negative pseudo token (the same for the same bytes) */
  tokens: Int32Array;
  /** how many positions the media take */
  mediaTokens: number;
  /** index just past the last medium */
  mediaEnd: number;
  /** opaque (a tagged External) */
  handle: object;
}

export interface NativeProjectorInfo {
  vision: boolean;
  audio: boolean;
  /** the sample rate audio is resampled to, or -1 without audio */
  audioSampleRate: number;
  maxPixels: number;
}

export interface NativeProjector {
  info(): NativeProjectorInfo;
  tokenize(
    text: string,
    media: { audio: boolean; data: Uint8Array }[],
    addSpecial: boolean,
    parseSpecial: boolean,
  ): Promise<NativeMediaPrompt>;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeSystemInfo {
  llamaCppSystemInfo: string;
  gpu: string;
  /** a portable build: CPU variants and backends are loaded at run time */
  portable: boolean;
  /** ggml backends registered (CPU, CUDA, ...) */
  backends: string[];
  supportsGpuOffload: boolean;
  supportsMmap: boolean;
  maxSequences: number;
  devices: { name: string; description: string }[];
}

export interface NativeBinding {
  Model: {
    load(
      path: string,
      params: NativeParams<"Model.load">,
      abort: NativeAbortFlag,
      onProgress?: (progress: number) => void,
    ): Promise<NativeModel>;
    prototype: NativeModel;
  };
  Context: {
    create(model: NativeModel, params: NativeParams<"Context.create">, draftModel?: NativeModel): Promise<NativeContext>;
    prototype: NativeContext;
  };
  LoraAdapter: {
    load(model: NativeModel, path: string): Promise<NativeLoraAdapter>;
    prototype: NativeLoraAdapter;
  };
  Projector: {
    load(model: NativeModel, path: string, options: { threads?: number; maxPixels?: number; useGpu?: boolean }): Promise<NativeProjector>;
    /** mtmd's media marker, "<__media__>" */
    marker: string;
    prototype: NativeProjector;
  };
  AbortFlag: new () => NativeAbortFlag;
  setLogLevel(level: number): void;
  setLogger(fn: ((level: number, text: string) => void) | null): void;
  systemInfo(): NativeSystemInfo;
  /** bytes the C heap has allocated and not freed (glibc); undefined elsewhere. For leak tests. */
  nativeHeapBytes(): number | undefined;
  quantize(input: string, output: string, params: NativeParams<"quantize">): Promise<void>;
  /**
   * Runs ggml's RPC server (host:port, cache folder or "", CPU threads) on a native thread of its own.
   * Resolves only if the server stops, which it does only when it could not start (it prints why).
   */
  rpcStartServer(endpoint: string, cacheDir: string, threads: number, memMiB?: number): Promise<void>;
  /** Whether this build has ggml's RPC backend. */
  rpcAvailable(): boolean;
  /** Errors the addon raises are made by `factory(code, message)` (src/errors.ts). */
  setErrorFactory(factory: (code: string, message: string) => Error): void;
  /** The parameter tables native code reads (native/params.cpp), for the test that compares them with src/native-params.ts. */
  paramTables(): Record<string, Record<string, { type: string; min?: number; max?: number; choices?: string[] }>>;
  /**
   * Process exit only: refuses new native work, aborts decodes and loads in flight and waits up to
   * `timeoutMs` for them to leave llama.cpp. Returns how many were still running. Irreversible.
   */
  closeForExit(timeoutMs: number): number;
  /** true when the addon was loaded on Node's main thread (libuv's default loop), false in a worker_thread */
  readonly mainThread?: boolean;
  napiVersion: number;
}
