// The order in which one context runs the calls made on it.
//
// Exclusive operations (embeddings, clearing the cache, a generation on a one-sequence context) run
// one at a time in call order. Shared ones (generations on a context with several sequences) start
// after the last exclusive one and run together: the native engine schedules them and queues those
// beyond its sequences.
//
// Only operations still in flight are held. (This used to keep a chain
// `tail = Promise.all([tail, op])`, whose value is [[[…], result], result]: every shared
// operation's result stayed reachable for the life of the context. A server, whose requests are all
// shared operations, kept ~350 bytes per request: 6 -> 10 MB of live heap over 12,000 requests.)
export class OpQueue {
  #pending = new Set<Promise<void>>(); // queued or running operations, each settling (never rejecting) with it
  #barrier: Promise<void> = Promise.resolve(); // settles when the last exclusive operation has settled

  #track(run: Promise<unknown>): Promise<void> {
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return settled;
  }

  /** Settles when every operation queued so far has settled. */
  #everything(): Promise<unknown> {
    return this.#pending.size === 0 ? Promise.resolve() : Promise.all([...this.#pending]);
  }

  /** Runs `op` after every earlier operation has settled. */
  exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#everything().then(op);
    this.#barrier = this.#track(run);
    return run;
  }

  /** Runs `op` after the last exclusive operation, alongside other shared ones. */
  shared<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#barrier.then(op);
    this.#track(run);
    return run;
  }

  /** Settles when everything queued so far has settled. */
  idle(): Promise<void> {
    return this.#everything().then(() => undefined);
  }
}
