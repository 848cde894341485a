// A push-based stream of chunks (filled by a native callback) read as an async generator.
export class ChunkStream<T, R> {
  #queue: (T | undefined)[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #settled = false;
  #result: R | undefined;
  #failure: { error: unknown } | undefined;

  /** Adds a chunk (from the native callback). */
  push(chunk: T): void {
    this.#queue.push(chunk);
    this.#wake?.();
  }

  /** Ends the stream with its result, or with an error to throw after the chunks already pushed. */
  end(result: R): void {
    this.#result = result;
    this.#settled = true;
    this.#wake?.();
  }

  fail(error: unknown): void {
    this.#failure = { error };
    this.#settled = true;
    this.#wake?.();
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Yields every chunk in order, then returns the result (or throws the failure). */
  async *read(): AsyncGenerator<T, R, undefined> {
    while (true) {
      if (this.#head < this.#queue.length) {
        const chunk = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined; // let the consumer's chunks be collected
        yield chunk;
        continue;
      }
      if (this.#settled) break;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
    if (this.#failure) throw this.#failure.error;
    return this.#result!;
  }
}
