// How the engine batches concurrent streams, read from llama.cpp's own batch log (a child process:
// LLAMA_BATCH_DEBUG and the debug log level are process-wide).
import { describe, expect, it } from "vitest";
import { child } from "./child";

describe("continuous batching", () => {
  it("decodes the streams of one step in one micro-batch, whichever sequences they hold", () => {
    // With a cache per sequence, llama.cpp groups into one micro-batch only sequences whose ids
    // follow one another in batch order; the streams here hold sequences 1, 2, 3 and 0. Before the
    // engine put tokens in sequence order, every step was two micro-batches (3 + 1 tokens), each
    // reading all the weights.
    const r = child("one-ubatch.cjs");
    expect(r.status, r.summary).toBe(0);
    const ubatches = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" ").map(Number));
    // 16 tokens per stream: the prompts, then 15 steps with all four streams generating
    const allFour = ubatches.filter(([tokens, seqs]) => tokens === 4 && seqs === 4).length;
    expect(allFour, r.stdout).toBeGreaterThanOrEqual(12);
    expect(ubatches.length, r.stdout).toBeLessThanOrEqual(24);
  });
});
