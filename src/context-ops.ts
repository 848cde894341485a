// The parts of a Context that only need its queue and its native handle: embeddings and sequence
// state (src/context.ts keeps the documented methods, which call these).
import { binding, type NativeAbortFlag, type NativeContext } from "./binding";
import { AbortError, withCallerStack, callSite } from "./errors";
import { defineOptions, v } from "./options";
import { readStateFile } from "./state";
import { describe } from "./validate";

export interface EmbedOptions {
  /** L2-normalize each vector (default true). */
  normalize?: boolean;
  signal?: AbortSignal;
}

const parseEmbedOptions = defineOptions<EmbedOptions>("embed options", { normalize: v.bool, signal: v.signal });

/** @internal what the operations need from their context */
export interface OpsHost {
  live(): NativeContext;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  track<T>(flag: NativeAbortFlag, sequence: number, done: Promise<T>): Promise<T>;
  /** tokenize with special tokens added and parsed, as prompts are */
  tokenize(text: string): Int32Array;
}

/** @internal ctx.embed() */
export async function embedTexts(
  h: OpsHost,
  input: string | readonly string[],
  options: EmbedOptions,
  site: Error,
): Promise<Float32Array | Float32Array[]> {
  const single = typeof input === "string";
  if (!single && !Array.isArray(input)) throw new TypeError(`input must be a string or an array of strings; got ${describe(input)}`);
  const texts = single ? [input] : (input as readonly string[]);
  const inputs = texts.map((t, i) => {
    if (typeof t !== "string") throw new TypeError(`input[${i}] must be a string; got ${describe(t)}`);
    const toks = h.tokenize(t);
    if (toks.length === 0) throw new RangeError(`input[${i}] is empty: nothing to embed`);
    return toks;
  });
  const o = parseEmbedOptions(options);
  if (inputs.length === 0) return [];
  const out = await runEmbed(h, inputs, o.normalize ?? true, o.signal, site);
  return single ? out[0]! : out;
}

/** @internal one native embed call over token inputs, queued on the context and abortable */
export async function runEmbed(
  h: OpsHost,
  inputs: Int32Array[],
  normalize: boolean,
  signal: AbortSignal | undefined,
  site: Error,
): Promise<Float32Array[]> {
  const flag = new (binding().AbortFlag)();
  const onAbort = () => flag.abort();
  try {
    const run = async () => {
      const native = h.live();
      if (signal?.aborted) throw new AbortError("embedding was aborted", { cause: signal.reason });
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        return await native.embed(inputs, normalize, flag);
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    };
    return await h.track(flag, -1, h.exclusive(run));
  } catch (e) {
    throw withCallerStack(e, site);
  }
}

/** @internal the sequence-state operations of a context, on a resolved sequence id */
export function stateOps(h: OpsHost) {
  const queued = <T>(fn: (n: NativeContext) => Promise<T> | T): Promise<T> => {
    const site = callSite();
    return h.exclusive(async () => fn(h.live())).catch((e) => Promise.reject(withCallerStack(e, site)));
  };
  const setState = (seq: number, state: Uint8Array): Promise<number> => {
    if (!(state instanceof Uint8Array)) return Promise.reject(new TypeError(`state must be a Uint8Array; got ${describe(state)}`));
    return queued((n) => n.setState(seq, state));
  };
  const checkPath = (path: string) => {
    if (typeof path !== "string" || path.length === 0) throw new TypeError(`path must be a non-empty string; got ${describe(path)}`);
  };
  return {
    getState: (seq: number): Promise<Uint8Array> => queued((n) => n.getState(seq)),
    setState,
    saveState: async (seq: number, path: string): Promise<number> => {
      checkPath(path);
      return queued((n) => n.saveState(seq, path));
    },
    loadState: async (seq: number, path: string): Promise<number> => {
      checkPath(path);
      return setState(seq, await readStateFile(path));
    },
  };
}
