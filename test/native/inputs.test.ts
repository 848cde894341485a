// Inputs at the edges of what llama.cpp takes: context parameters it would assert on, a huge
// prompt, lone surrogates and NUL bytes, a grammar left with no allowed token.
// Each case runs in a child process (./child.ts), so an abort fails one test, not the run.
import { describe, expect, it } from "vitest";
import { child } from "./child";

describe("context parameters llama.cpp would abort on", () => {
  it("more sequences than batch slots: shrunk by default, a RangeError when asked for (was SIGABRT)", () => {
    const r = child("sequences-vs-batch.cjs");
    expect(r.status, r.summary).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("8 2");
    expect(lines[1]).toBe("RangeError: sequences (16) must not exceed batchSize (8): each sequence needs an output slot in a batch");
    expect(lines[2]).toMatch(/^RangeError: sequences \(8\) must not exceed batchSize \(4\)/);
  });
});

describe("inputs at the edges (cases 13, 19)", () => {
  it("a huge prompt is refused before tokenizing; lone surrogates and NUL bytes round-trip", () => {
    const r = child("huge-prompt.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "ContextFullError true",
      '"a\uFFFDb"',
      '"x\\u0000y\\u0000"',
      "maxTokens 3",
      "true",
      "alive",
    ]);
  });

  it("a grammar left without an allowed token is an error, and the context stays usable", () => {
    const r = child("grammar-dead-end.cjs");
    expect(r.status, r.summary).toBe(0);
    const msg = "LlamaError: sampling failed: no token satisfies both the grammar and the other sampling options";
    expect(r.stdout.trim().split("\n")).toEqual([msg, msg, 'eog "a"']);
  });
});
