// Sequence: one KV cache sequence of a context, owned by whoever called ctx.getSequence() until they
// dispose it. The engine gives an owned sequence only to generations that name it, so what it holds
// (a conversation's history) stays there between calls and each turn decodes only what is new.
import { DisposedError } from "./errors";
import type { CompletionResult, GenerationChunk, GenerationResult, SequenceGenerationOptions } from "./generation-types";

/** What a Sequence needs from its context (src/context.ts implements it). */
export interface SequenceHost {
  generate(
    prompt: string | Int32Array | readonly number[],
    options: SequenceGenerationOptions,
    sequence: Sequence,
  ): AsyncGenerator<GenerationChunk, GenerationResult, undefined>;
  complete(
    prompt: string | Int32Array | readonly number[],
    options: SequenceGenerationOptions,
    sequence: Sequence,
  ): Promise<CompletionResult>;
  cachedTokens(sequence: number): Int32Array;
  clearCache(sequence: number): Promise<void>;
  /** Ends the sequence's running work and gives it back to the context. */
  release(sequence: Sequence): Promise<void>;
  getState(sequence: number): Promise<Uint8Array>;
  setState(sequence: number, state: Uint8Array): Promise<number>;
  saveState(sequence: number, path: string): Promise<number>;
  loadState(sequence: number, path: string): Promise<number>;
}

const SEQUENCE_TOKEN = Symbol("Sequence");

/** @internal */
export function newSequence(host: SequenceHost, id: number): Sequence {
  return new Sequence(host, id, SEQUENCE_TOKEN);
}

export class Sequence {
  /** The KV cache sequence number (what GenerationResult.sequence reports). */
  readonly id: number;
  #host: SequenceHost;
  #disposing: Promise<void> | undefined;

  /** @internal use ctx.getSequence() */
  constructor(host: SequenceHost, id: number, token: symbol) {
    if (token !== SEQUENCE_TOKEN) throw new TypeError("use ctx.getSequence() to get a Sequence");
    this.#host = host;
    this.id = id;
  }

  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  /** @internal the owning context, checked by the context when a Sequence is passed to it */
  isOf(host: SequenceHost): boolean {
    return this.#host === host;
  }

  #live(): SequenceHost {
    if (this.#disposing) throw new DisposedError("sequence");
    return this.#host;
  }

  /** ctx.generate() in this sequence. */
  generate(
    prompt: string | Int32Array | readonly number[],
    options: SequenceGenerationOptions = {},
  ): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
    return this.#live().generate(prompt, options, this);
  }

  /** ctx.complete() in this sequence. */
  complete(prompt: string | Int32Array | readonly number[], options: SequenceGenerationOptions = {}): Promise<CompletionResult> {
    try {
      return this.#live().complete(prompt, options, this);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The tokens this sequence holds in the KV cache (what the next call may extend). */
  cachedTokens(): Int32Array {
    return this.#live().cachedTokens(this.id);
  }

  /** Empties this sequence of the KV cache (waits for running work on the context). */
  clearCache(): Promise<void> {
    try {
      return this.#live().clearCache(this.id);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** ctx.getState() of this sequence. */
  getState(): Promise<Uint8Array> {
    return this.#call((h) => h.getState(this.id));
  }

  /** ctx.setState() into this sequence. */
  setState(state: Uint8Array): Promise<number> {
    return this.#call((h) => h.setState(this.id, state));
  }

  /** ctx.saveState() of this sequence. */
  saveState(path: string): Promise<number> {
    return this.#call((h) => h.saveState(this.id, path));
  }

  /** ctx.loadState() into this sequence. */
  loadState(path: string): Promise<number> {
    return this.#call((h) => h.loadState(this.id, path));
  }

  #call<T>(fn: (h: SequenceHost) => Promise<T>): Promise<T> {
    try {
      return fn(this.#live());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Gives the sequence back to its context: a generation running in it ends with stopReason "abort";
   * what it holds stays cached (another call with the same prompt prefix may reuse it). Idempotent.
   */
  dispose(): Promise<void> {
    this.#disposing ??= this.#host.release(this);
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
