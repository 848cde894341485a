// The public API on the generated fixture model (random weights, llama.cpp's real llama-spm
// vocabulary): present on every fresh clone.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  AbortError,
  ContextFullError,
  DisposedError,
  InvalidModelFileError,
  LlamaError,
  ModelLoadError,
  loadModel,
  readGgufInfo,
  type Context,
  type Model,
} from "../../dist/index.mjs";
import { binding } from "../../dist/binding.js";
import { ticksDuring } from "../helpers";

const tiny = inject("tinyModel");

let model: Model;
let ctx: Context;

beforeAll(async () => {
  model = await loadModel(tiny);
  ctx = await model.createContext({ contextSize: 256, batchSize: 64 });
});
afterAll(async () => {
  await model?.dispose();
});

describe("model", () => {
  it("reports the facts the GGUF header holds", async () => {
    const gguf = await readGgufInfo(tiny);
    expect(model.info.architecture).toBe("llama");
    expect(model.info.layers).toBe(2);
    expect(model.info.embeddingLength).toBe(64);
    expect(model.info.contextLength).toBe(256);
    expect(model.info.vocabSize).toBe((gguf.metadata["tokenizer.ggml.tokens"] as string[]).length);
    expect(model.info.metadata["general.architecture"]).toBe("llama");
    expect(model.vocab.bos).toBe(gguf.metadata["tokenizer.ggml.bos_token_id"]);
    expect(model.vocab.eos).toBe(gguf.metadata["tokenizer.ggml.eos_token_id"]);
    expect(model.vocab.isEog(model.vocab.eos)).toBe(true);
    expect(model.vocab.isEog(model.vocab.bos)).toBe(false);
  });

  it("tokenizes with and without BOS, and round-trips", () => {
    const withBos = model.tokenize("Hello world");
    const without = model.tokenize("Hello world", { addSpecial: false });
    expect(withBos[0]).toBe(model.vocab.bos);
    expect(Array.from(withBos.slice(1))).toEqual(Array.from(without));
    expect(model.detokenize(without)).toBe("Hello world");
    // SentencePiece marks word starts with a space; llama.cpp strips it only at the very start of
    // the token list, so after a (removed) BOS the space stays.
    expect(model.detokenize(withBos, { removeSpecial: true })).toBe(" Hello world");
    expect(model.detokenize(withBos, { unparseSpecial: true })).toBe("<s> Hello world");
    expect(model.tokenToPiece(model.vocab.bos)).toBe("<s>");
  });

  it("rejects out-of-range token ids with RangeError", () => {
    for (const bad of [-1, model.vocab.size, 2 ** 31, 1.5, NaN]) {
      expect(() => model.detokenize([bad])).toThrow(RangeError);
      expect(() => model.tokenToPiece(bad)).toThrow(RangeError);
    }
  });

  it("fails to load with typed errors", async () => {
    await expect(loadModel("/nonexistent/model.gguf")).rejects.toBeInstanceOf(ModelLoadError);
    await expect(loadModel(new URL(import.meta.url).pathname)).rejects.toBeInstanceOf(InvalidModelFileError);
    await expect(loadModel(tiny, { gpuLayers: -5 })).rejects.toBeInstanceOf(RangeError);
  });

  it("loads without blocking the event loop, reports progress, and can be aborted", async () => {
    const progress: number[] = [];
    const { result, ticks } = await ticksDuring(loadModel(tiny, { onProgress: (p) => progress.push(p) }));
    expect(ticks).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(1);
    await result.dispose();
    // the native load alone (no TypeScript header read around it) also leaves the loop free
    const b = binding();
    const raw = await ticksDuring(
      b.Model.load(
        tiny,
        { gpuLayers: -1, loadMode: "auto", vocabOnly: false, checkTensors: false, rpcServers: [], tensorSplit: [] },
        new b.AbortFlag(),
      ),
    );
    expect(raw.ticks).toBeGreaterThan(0);
    raw.result.dispose();

    const ac = new AbortController();
    const p = loadModel(tiny, { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });

  it("vocab-only models tokenize but cannot create contexts", async () => {
    const v = await loadModel(tiny, { vocabOnly: true });
    expect(Array.from(v.tokenize("Hello"))).toEqual(Array.from(model.tokenize("Hello")));
    await expect(v.createContext()).rejects.toThrow(/vocabOnly/);
    await v.dispose();
  });
});

describe("generation", () => {
  it("streams chunks whose text and tokens add up to complete()", async () => {
    let text = "";
    const tokens: number[] = [];
    const it = ctx.generate("Once upon a time", { temperature: 0, maxTokens: 24 });
    let r = await it.next();
    while (!r.done) {
      text += r.value.text;
      tokens.push(...r.value.tokens);
      expect(r.value.token).toBe(r.value.tokens[r.value.tokens.length - 1]);
      r = await it.next();
    }
    expect(r.value.stopReason).toBe("maxTokens");
    expect(tokens.length).toBe(24);
    const c = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 24 });
    expect(c.text).toBe(text);
    expect(Array.from(c.tokens)).toEqual(tokens);
    // the streamed text is the tokens' pieces, in order (detokenize() would drop the first piece's
    // leading space, as llama.cpp does at the start of a text)
    expect(c.text).toBe(Array.from(c.tokens, (t) => model.tokenToPiece(t)).join(""));
  });

  it("gives the same tokens for the same seed, and different ones for another seed", async () => {
    const opts = { temperature: 1.5, topK: 0, topP: 1, minP: 0, maxTokens: 32 };
    const a = await ctx.complete("The weather", { ...opts, seed: 42 });
    const b = await ctx.complete("The weather", { ...opts, seed: 42 });
    const c = await ctx.complete("The weather", { ...opts, seed: 43 });
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    expect(Array.from(a.tokens)).not.toEqual(Array.from(c.tokens));
  });

  it("reuses the cached prefix of a prompt that extends the previous one", async () => {
    await ctx.clearCache();
    const first = await ctx.complete("The quick brown fox", { temperature: 0, maxTokens: 4 });
    expect(first.timings.reusedTokens).toBe(0);
    const prompt = model.tokenize("The quick brown fox jumps over the lazy dog");
    const second = await ctx.complete(prompt, { temperature: 0, maxTokens: 4 });
    const common = model.tokenize("The quick brown fox").length;
    expect(second.timings.reusedTokens).toBeGreaterThanOrEqual(common - 1);
    expect(second.timings.evaluatedPromptTokens).toBe(prompt.length - second.timings.reusedTokens);
    // Same output as a cold cache.
    await ctx.clearCache();
    const cold = await ctx.complete(prompt, { temperature: 0, maxTokens: 4 });
    expect(Array.from(second.tokens)).toEqual(Array.from(cold.tokens));
  });

  it("decodes a prompt longer than batchSize in chunks", async () => {
    // (that chunking gives the same tokens as one batch is checked on the real model: random
    // weights have near-tied logits, where the summation order of a batch shape decides)
    const small = await model.createContext({ contextSize: 256, batchSize: 16 });
    const prompt = "word ".repeat(150);
    const a = await small.complete(prompt, { temperature: 0, maxTokens: 8 });
    expect(a.timings.evaluatedPromptTokens).toBe(model.tokenize(prompt, { parseSpecial: true }).length);
    expect(a.tokens.length).toBe(8);
    await small.dispose();
  });

  it("stops at a stop string and leaves it out of the text", async () => {
    const free = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 40 });
    expect(free.text.length).toBeGreaterThan(10);
    const stopAt = free.text.slice(8, 12);
    const r = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 40, stop: [stopAt] });
    expect(r.stopReason).toBe("stop");
    expect(r.text).toBe(free.text.slice(0, free.text.indexOf(stopAt)));
  });

  it("a prompt longer than the context is a ContextFullError; a full context ends the generation", async () => {
    const small = await model.createContext({ contextSize: 256, batchSize: 64 });
    const size = small.info.contextSize; // llama.cpp may round the requested size up
    await expect(small.complete("word ".repeat(size + 10), { maxTokens: 4 })).rejects.toBeInstanceOf(ContextFullError);
    const r = await small.complete("Hello", { temperature: 0, maxTokens: size * 2 });
    expect(r.stopReason).toBe("contextFull");
    expect(r.timings.generatedTokens).toBeLessThanOrEqual(size);
    await small.dispose();
  });

  it("aborts promptly through an AbortSignal and stays usable", async () => {
    const ac = new AbortController();
    let chunks = 0;
    // A context of 4096 so that a late abort shows: the native loop stops within a step of seeing the
    // flag, but it runs ahead of JS by however long the JS thread waits for a core (the tiny model
    // makes ~2000 tokens/s here), so the bound below leaves room for a busy machine.
    const big = await model.createContext({ contextSize: 4096, batchSize: 64 });
    const gen = big.generate("Once upon a time", { temperature: 0, maxTokens: 100_000, signal: ac.signal });
    let r = await gen.next();
    while (!r.done) {
      if (++chunks === 5) ac.abort();
      r = await gen.next();
    }
    expect(r.value.stopReason).toBe("abort");
    expect(r.value.timings.generatedTokens).toBeLessThan(1000);
    await big.dispose();
    const after = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 3 });
    expect(after.tokens.length).toBe(3);
    // an already-aborted signal ends before generating anything
    const pre = await ctx.complete("Hi", { maxTokens: 10, signal: AbortSignal.abort() });
    expect(pre.stopReason).toBe("abort");
    expect(pre.tokens.length).toBe(0);
  });

  it("breaking out of the stream stops the native loop", async () => {
    let n = 0;
    for await (const _ of ctx.generate("Once upon a time", { temperature: 0, maxTokens: 100_000 })) {
      if (++n === 3) break;
    }
    const r = await ctx.complete("Once", { temperature: 0, maxTokens: 2 });
    expect(r.tokens.length).toBe(2);
  });

  it("keeps the event loop ticking during a generation", async () => {
    const { result, ticks } = await ticksDuring(ctx.complete("Once upon a time", { temperature: 0, maxTokens: 200 }));
    expect(result.tokens.length).toBe(200);
    expect(ticks).toBeGreaterThan(0);
  });

  it("runs concurrent calls on one context one at a time, in call order", async () => {
    const order: number[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      ctx.complete("Count", { temperature: 0, maxTokens: 5 }).then((r) => {
        order.push(i);
        return r;
      }),
    );
    const results = await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3]);
    for (const r of results) expect(Array.from(r.tokens)).toEqual(Array.from(results[0]!.tokens));
  });

  it("validates options with messages naming the option", async () => {
    await expect(ctx.complete("x", { temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(ctx.complete("x", { topK: 1.5 })).rejects.toThrow(RangeError);
    await expect(ctx.complete("x", { maxTokens: NaN })).rejects.toThrow(/maxTokens/);
    await expect(ctx.complete("x", { stop: [""] })).rejects.toThrow(/stop/);
    await expect(ctx.complete([model.vocab.size])).rejects.toThrow(RangeError);
    await expect(ctx.complete("")).rejects.toThrow(RangeError);
    await expect(model.createContext({ contextSize: -5 })).rejects.toThrow(/contextSize/);
    await expect(model.createContext({ threads: 0 })).rejects.toThrow(/threads/);
    for (const [key, value] of [
      ["temperature", NaN],
      ["temperature", Infinity],
      ["topK", -1],
      ["topP", 2],
      ["maxTokens", -1],
      ["maxTokens", 2 ** 40],
      ["penaltyLastN", -2],
      ["seed", 2 ** 33],
    ] as const) {
      await expect(ctx.complete("x", { [key]: value })).rejects.toThrow(new RegExp(`^${key} must be`));
    }
    for (const [key, value] of [
      ["contextSize", NaN],
      ["contextSize", 2 ** 40],
      ["batchSize", 0],
      ["threads", 1.5],
      ["threads", 100000],
      ["threadPoll", 101],
      ["threadPoll", -1],
      ["sequences", 0],
      ["sequences", 257],
      ["unifiedKvCache", "yes"],
    ] as const) {
      await expect(model.createContext({ [key]: value })).rejects.toThrow(new RegExp(`^${key} must be`));
    }
  });

  it("applies a GBNF grammar and rejects a malformed one", async () => {
    const r = await ctx.complete("Answer:", { temperature: 0, maxTokens: 20, grammar: 'root ::= ("yes" | "no") "."' });
    expect(["yes.", "no."]).toContain(r.text.trim());
    await expect(ctx.complete("Answer:", { grammar: "root ::= (" })).rejects.toBeInstanceOf(LlamaError);
    const ok = await ctx.complete("Answer:", { temperature: 0, maxTokens: 2 });
    expect(ok.tokens.length).toBe(2);
  });

  it("emits a character split over several byte tokens whole, in one chunk", async () => {
    // The llama-spm vocabulary has byte-fallback tokens <0x00>..<0xFF>. Forcing the three bytes of
    // "日" (E6 97 A5) makes the model produce one character across three tokens.
    const gguf = await readGgufInfo(tiny, { tensors: false });
    const vocab = gguf.metadata["tokenizer.ggml.tokens"] as string[];
    const ids = ["<0xE6>", "<0x97>", "<0xA5>"].map((t) => vocab.indexOf(t));
    expect(ids.every((i) => i > 0)).toBe(true);
    const chunks: { text: string; tokens: number[] }[] = [];
    const grammar = 'root ::= [\\x00-\\x7F]* "日"';
    for await (const c of ctx.generate("Once", {
      temperature: 0,
      maxTokens: 3,
      logitBias: ids.map((t) => [t, 100] as [number, number]),
      grammar,
    })) {
      chunks.push({ text: c.text, tokens: Array.from(c.tokens) });
    }
    expect(chunks).toEqual([{ text: "日", tokens: ids }]);
  });

  it("stops at an end-of-generation token without emitting it", async () => {
    const r = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 50, logitBias: [[model.vocab.eos, 100]] });
    expect(r.stopReason).toBe("eog");
    expect(r.tokens.length).toBe(0);
    expect(r.text).toBe("");
  });

  it("an abort during a long prompt decode ends it promptly and leaves a consistent cache", async () => {
    const big = await model.createContext({ contextSize: 4096, batchSize: 64 });
    const prompt = Int32Array.from({ length: 4000 }, (_, i) => 1000 + (i % 500));
    const ac = new AbortController();
    const p = big.complete(prompt, { maxTokens: 5, signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    const r = await p;
    expect(r.stopReason).toBe("abort");
    expect(r.timings.evaluatedPromptTokens).toBeLessThan(4000);
    const cached = big.cachedTokens();
    expect(Array.from(cached)).toEqual(Array.from(prompt.slice(0, cached.length)));
    // the next call reuses what was decoded and finishes the job
    const again = await big.complete(prompt, { temperature: 0, maxTokens: 2 });
    expect(again.timings.reusedTokens).toBe(cached.length);
    expect(again.tokens.length).toBe(2);
    await big.dispose();
  });

  it("logitBias can ban the greedy choice", async () => {
    const a = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 1 });
    const banned = a.tokens[0]!;
    const b = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 1, logitBias: [[banned, -Infinity]] });
    expect(b.tokens[0]).not.toBe(banned);
  });
});

describe("lifetime", () => {
  it("dispose during a generation ends it with stopReason abort; use after dispose throws", async () => {
    const c = await model.createContext({ contextSize: 256 });
    const running = c.complete("Once upon a time", { temperature: 0, maxTokens: 100_000 });
    await new Promise((r) => setTimeout(r, 20));
    await c.dispose();
    const r = await running;
    expect(r.stopReason).toBe("abort");
    await expect(c.complete("x")).rejects.toBeInstanceOf(DisposedError);
    await c.dispose(); // idempotent
  });

  it("model.dispose() disposes its contexts; the model is unusable after", async () => {
    const m = await loadModel(tiny);
    const c = await m.createContext();
    const gen = c.generate("Once upon a time", { temperature: 0, maxTokens: 100_000 });
    await gen.next(); // running
    await m.dispose();
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    expect(r.value.stopReason).toBe("abort");
    expect(c.disposed).toBe(true);
    expect(() => m.tokenize("x")).toThrow(DisposedError);
    await expect(m.createContext()).rejects.toBeInstanceOf(DisposedError);
  });

  it("supports await using", async () => {
    let seen: Model | undefined;
    {
      await using m = await loadModel(tiny);
      seen = m;
    }
    expect(seen.disposed).toBe(true);
  });

  it("foreign receivers throw TypeError instead of crashing", async () => {
    const proto = Object.getPrototypeOf(ctx);
    await expect(proto.complete.call({}, "x")).rejects.toThrow(TypeError);
    expect(() => proto.cachedTokens.call({})).toThrow(TypeError);
    const native = (model as unknown as { native: object }).native;
    const nproto = Object.getPrototypeOf(native);
    expect(() => nproto.tokenize.call({}, "x", true, false)).toThrow(TypeError);
  });
});

describe("embeddings", () => {
  it("returns L2-normalized vectors, batched, equal to one-at-a-time", async () => {
    const e = await model.createContext({ embeddings: true, pooling: "mean" });
    const one = await e.embed("Hello world");
    expect(one.length).toBe(64);
    const norm = Math.hypot(...one);
    expect(norm).toBeCloseTo(1, 5);
    const many = await e.embed(["Hello world", "Goodbye", "Hello world"]);
    expect(many.length).toBe(3);
    // batching changes the matrix shapes and so the float summation order: equal to ~1e-6
    for (let i = 0; i < 64; i++) expect(many[0]![i]).toBeCloseTo(one[i]!, 5);
    for (let i = 0; i < 64; i++) expect(many[2]![i]).toBeCloseTo(many[0]![i]!, 5);
    const raw = await e.embed("Hello world", { normalize: false });
    expect(Math.hypot(...raw)).not.toBeCloseTo(1, 3);
    await expect(ctx.embed("x")).rejects.toThrow(/embeddings: true/);
    await e.dispose();
  });

  it("an input longer than the batch or the trained context is a ContextFullError", async () => {
    const e = await model.createContext({ embeddings: true, pooling: "mean", contextSize: 256, batchSize: 32 });
    await expect(e.embed("word ".repeat(100))).rejects.toBeInstanceOf(ContextFullError);
    await expect(e.embed(["short", "word ".repeat(100)])).rejects.toThrow(/input 1 is \d+ tokens/);
    expect((await e.embed("short")).length).toBe(64);
    await e.dispose();
  });
});
