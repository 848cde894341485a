// A progress bar on stderr, drawn only when stderr is a terminal; elsewhere (pipes, CI logs) it
// stays silent so that machine-readable output is not interleaved with it.
export class Progress {
  readonly #label: string;
  readonly #tty: boolean;
  #last = -1;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label;
    this.#tty = stream.isTTY === true;
  }

  /** fraction in [0, 1] */
  update(fraction: number): void {
    if (!this.#tty) return;
    const pct = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    if (pct === this.#last) return;
    this.#last = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r${this.#label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}%`);
  }

  done(): void {
    if (!this.#tty || this.#last < 0) return;
    process.stderr.write("\r\x1b[2K");
  }
}
