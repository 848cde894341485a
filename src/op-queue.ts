// The order in which one context runs the calls made on it.
//
// Exclusive operations (embeddings, clearing the cache, a generation on a one-sequence context) run
// one at a time in call order. Shared ones (generations on a context with several sequences) start
// after the last exclusive one and run together: the native engine schedules them and queues those
// beyond its sequences.
export class OpQueue {
  #tail: Promise<unknown> = Promise.resolve(); // settles when everything queued so far has settled
  #barrier: Promise<unknown> = Promise.resolve(); // settles when the last exclusive operation has settled

  /** Runs `op` after every earlier operation has settled. */
  exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op);
    this.#tail = this.#barrier = run.catch(() => undefined);
    return run;
  }

  /** Runs `op` after the last exclusive operation, alongside other shared ones. */
  shared<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#barrier.then(op);
    const settled = run.catch(() => undefined);
    this.#tail = Promise.all([this.#tail, settled]);
    return run;
  }

  /** Settles when everything queued so far has settled. */
  idle(): Promise<unknown> {
    return this.#tail;
  }
}
