// Sequence objects: a KV cache sequence owned by its holder until disposed.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DisposedError, LlamaError, type Model, loadModel } from "../../dist/index.mjs";

let model: Model;
beforeAll(async () => {
  model = await loadModel(inject("tinyModel"));
});
afterAll(async () => {
  await model?.dispose();
});

describe("Sequence", () => {
  it("hands out distinct sequences until none is left", async () => {
    const ctx = await model.createContext({ contextSize: 256, sequences: 2 });
    const a = ctx.getSequence();
    const b = ctx.getSequence();
    expect(new Set([a.id, b.id])).toEqual(new Set([0, 1]));
    expect(() => ctx.getSequence()).toThrow(LlamaError);
    // every sequence owned: a call that names none has nowhere to run
    await expect(ctx.complete("x", { maxTokens: 1 })).rejects.toThrow(/owned by a Sequence/);
    await a.dispose();
    const c = ctx.getSequence();
    expect(c.id).toBe(a.id);
    await ctx.dispose();
    expect(b.disposed && c.disposed).toBe(true);
  });

  it("an owned sequence is never given to generations that do not name it", async () => {
    const ctx = await model.createContext({ contextSize: 512, sequences: 3 });
    const seq = ctx.getSequence();
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => ctx.complete(`story ${i}`, { temperature: 0, maxTokens: 8 })));
    expect(runs.every((r) => r.sequence !== seq.id)).toBe(true);
    await expect(ctx.complete("x", { sequence: seq.id, maxTokens: 1 })).rejects.toThrow(/owned by a Sequence object/);
    await ctx.dispose();
  });

  it("keeps its history: a follow-up decodes only what is new, with the same tokens as a fresh context", async () => {
    const ctx = await model.createContext({ contextSize: 512, sequences: 2 });
    const seq = ctx.getSequence();
    const first = await seq.complete("Once upon a time", { temperature: 0, maxTokens: 16 });
    expect(first.sequence).toBe(seq.id);
    // another stream on the context runs in the other sequence and leaves this one alone
    await ctx.complete("Something else entirely", { temperature: 0, maxTokens: 16 });
    const prompt = Array.from(seq.cachedTokens());
    const follow = await seq.complete([...prompt, ...model.tokenize(" and then", { addSpecial: false })], {
      temperature: 0,
      maxTokens: 16,
    });
    expect(follow.timings.reusedTokens).toBe(prompt.length);
    const fresh = await model.createContext({ contextSize: 512 });
    const alone = await fresh.complete([...prompt, ...model.tokenize(" and then", { addSpecial: false })], {
      temperature: 0,
      maxTokens: 16,
    });
    expect(follow.text).toBe(alone.text);
    await fresh.dispose();
    await ctx.dispose();
  });

  it("dispose ends its running generation and frees it for others", async () => {
    const ctx = await model.createContext({ contextSize: 2048, sequences: 1 });
    const seq = ctx.getSequence();
    const it = seq.generate("x", { temperature: 0, maxTokens: 1500 });
    await it.next();
    const disposing = seq.dispose();
    let last = await it.next();
    while (!last.done) last = await it.next();
    expect(last.value.stopReason).toBe("abort");
    await disposing;
    expect(() => seq.cachedTokens()).toThrow(DisposedError);
    // the sequence is shared again: a plain call runs in it
    const r = await ctx.complete("x", { temperature: 0, maxTokens: 2 });
    expect(r.sequence).toBe(0);
    await ctx.dispose();
  });

  it("refuses a Sequence of another context and embedding contexts", async () => {
    const a = await model.createContext({ contextSize: 128 });
    const b = await model.createContext({ contextSize: 128 });
    const seq = a.getSequence();
    await expect(b.complete("x", { sequence: seq, maxTokens: 1 })).rejects.toThrow(TypeError);
    const e = await model.createContext({ contextSize: 64, embeddings: true });
    expect(() => e.getSequence()).toThrow(LlamaError);
    await Promise.all([a.dispose(), b.dispose(), e.dispose()]);
  });
});
