// Error classes. Native code reports failures with a `code`; toLlamaError() turns them into these
// classes and keeps the caller's stack (captured before the call crossed into native code).

export type LlamaErrorCode =
  | "ERR_LLAMA"
  | "ERR_LLAMA_INVALID_MODEL_FILE"
  | "ERR_LLAMA_LOAD"
  | "ERR_LLAMA_CONTEXT_FULL"
  | "ERR_LLAMA_DISPOSED"
  | "ERR_LLAMA_ABORTED"
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

/** A model or context was used after dispose(). */
export class DisposedError extends LlamaError {
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

/** Captures the caller's stack before an asynchronous native call. */
export function callSite(): Error {
  const holder = new Error();
  Error.captureStackTrace?.(holder, callSite);
  return holder;
}

/** Maps an error thrown or rejected by the native layer onto the public classes. */
export function toLlamaError(err: unknown, site?: Error): unknown {
  if (!(err instanceof Error)) return err;
  if (err instanceof LlamaError) return err;
  const code = (err as { code?: string }).code;
  let out: Error;
  switch (code) {
    case "ERR_LLAMA_INVALID_MODEL_FILE":
    case "ERR_LLAMA_LOAD":
      out = new ModelLoadError(err.message);
      break;
    case "ERR_LLAMA_CONTEXT_FULL":
      out = new ContextFullError(err.message);
      break;
    case "ERR_LLAMA_DISPOSED":
      out = new LlamaError(err.message, "ERR_LLAMA_DISPOSED");
      Object.setPrototypeOf(out, DisposedError.prototype);
      out.name = "DisposedError";
      break;
    case "ERR_LLAMA_ABORTED":
      out = new AbortError(err.message);
      break;
    case "ERR_LLAMA":
      out = new LlamaError(err.message);
      break;
    default:
      // TypeError/RangeError from argument checks stay what they are.
      out = err;
  }
  if (site?.stack && out !== err) {
    const head = `${out.name}: ${out.message}`;
    out.stack = head + site.stack.slice(site.stack.indexOf("\n"));
  } else if (site?.stack && out === err) {
    out.stack = `${err.name}: ${err.message}` + site.stack.slice(site.stack.indexOf("\n"));
  }
  return out;
}
