// Error classes. The native addon makes its errors through nativeErrorFactory (registered when it
// loads), so every failure it reports is already an instance of these classes; withCallerStack()
// gives an asynchronous one the caller's stack (captured before the call crossed into native code).

export type LlamaErrorCode =
  | "ERR_LLAMA"
  | "ERR_LLAMA_INVALID_MODEL_FILE"
  | "ERR_LLAMA_LOAD"
  | "ERR_LLAMA_CONTEXT_FULL"
  | "ERR_LLAMA_DISPOSED"
  | "ERR_LLAMA_ABORTED"
  | "ERR_LLAMA_INVALID_STATE"
  | "ERR_LLAMA_RPC"
  | "ERR_LLAMA_INVALID_MEDIA"
  | "ERR_LLAMA_BINDING";

/** Base class of every error llama-native raises, except argument errors (TypeError, RangeError). */
export class LlamaError extends Error {
  readonly code: LlamaErrorCode;
  constructor(message: string, code: LlamaErrorCode = "ERR_LLAMA", options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The file is not a GGUF model llama-native can read: bad magic, unsupported version, inconsistent tables. */
export class InvalidModelFileError extends LlamaError {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`invalid model file ${path}: ${message}`, "ERR_LLAMA_INVALID_MODEL_FILE");
    this.path = path;
  }
}

/** A saved sequence state that does not fit the context: another model, a truncated or corrupted file. */
export class InvalidStateError extends LlamaError {
  constructor(message: string) {
    super(message, "ERR_LLAMA_INVALID_STATE");
  }
}

/** llama.cpp could not load the model (missing tensors, unsupported architecture, out of memory...). */
export class ModelLoadError extends LlamaError {
  constructor(message: string) {
    super(message, "ERR_LLAMA_LOAD");
  }
}

/** The prompt or the generation does not fit in the context's KV cache. */
export class ContextFullError extends LlamaError {
  constructor(message: string) {
    super(message, "ERR_LLAMA_CONTEXT_FULL");
  }
}

/** A model, context or other object was used after dispose(). */
export class DisposedError extends LlamaError {
  /** @param what the object that was disposed ("context", "model", ...) */
  constructor(what: string) {
    super(`the ${what} has been disposed`, "ERR_LLAMA_DISPOSED");
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends LlamaError {
  constructor(message = "the operation was aborted", options?: { cause?: unknown }) {
    super(message, "ERR_LLAMA_ABORTED", options);
  }
}

/**
 * An RPC worker that held part of the model was lost mid-operation (it stopped, or the connection
 * broke). The model cannot compute any more: dispose it and load it again (docs/rpc.md).
 */
export class RpcError extends LlamaError {
  constructor(message: string) {
    super(message, "ERR_LLAMA_RPC");
  }
}

/**
 * An image or audio input that cannot be used: bytes that do not decode (truncated or corrupt PNG,
 * JPEG, WAV...), a picture larger than the limit, media the projector does not take (audio to a
 * vision-only projector).
 */
export class InvalidMediaError extends LlamaError {
  constructor(message: string) {
    super(message, "ERR_LLAMA_INVALID_MEDIA");
  }
}

/** Captures the caller's stack before an asynchronous native call. */
export function callSite(): Error {
  const holder = new Error();
  Error.captureStackTrace?.(holder, callSite);
  return holder;
}

/**
 * @internal Makes the error for a failure the native addon reports (src/binding.ts registers it
 * with the addon). For ERR_LLAMA_DISPOSED the message names the object.
 */
export function nativeErrorFactory(code: string, message: string): Error {
  switch (code) {
    case "ERR_LLAMA_LOAD":
      return new ModelLoadError(message);
    case "ERR_LLAMA_CONTEXT_FULL":
      return new ContextFullError(message);
    case "ERR_LLAMA_DISPOSED":
      return new DisposedError(message);
    case "ERR_LLAMA_ABORTED":
      return new AbortError(message);
    case "ERR_LLAMA_INVALID_STATE":
      return new InvalidStateError(message);
    case "ERR_LLAMA_RPC":
      return new RpcError(message);
    case "ERR_LLAMA_INVALID_MEDIA":
      return new InvalidMediaError(message);
    default:
      return new LlamaError(message);
  }
}

/**
 * Gives an error the stack of `site` (captured where the caller's call began), so that a failure of
 * asynchronous native work points at the user's line. Returns the same error object.
 */
export function withCallerStack<E>(err: E, site?: Error): E {
  if (err instanceof Error && site?.stack) {
    err.stack = `${err.name}: ${err.message}` + site.stack.slice(site.stack.indexOf("\n"));
  }
  return err;
}
