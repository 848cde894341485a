// Concurrent streams: a context with several sequences runs that many generations at once, one
// token per stream per decode (the native engine). Oracle: each stream run alone on a context
// with one sequence (and, in real-model.test.ts, llama-simple's output on the real model).
import os from "node:os";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DisposedError, loadModel, type Context, type Model } from "../../dist/index.mjs";

const tiny = inject("tinyModel");
let model: Model;
let solo: Context;

const prompts = ["Hello world", "The quick brown fox", "Once upon a time there was", "1 2 3 4 5", "A", "Lorem ipsum dolor sit amet"];
const lengths = [24, 9, 31, 4, 17, 12];
const alone: string[] = [];

beforeAll(async () => {
  model = await loadModel(tiny);
  solo = await model.createContext({ contextSize: 256, batchSize: 64 });
  for (let i = 0; i < prompts.length; i++) {
    alone.push((await solo.complete(prompts[i]!, { temperature: 0, maxTokens: lengths[i] })).text);
    await solo.clearCache();
  }
});
afterAll(async () => {
  await model?.dispose();
});

describe("concurrent streams", () => {
  it("streams of different lengths join and leave; each equals its run alone (greedy)", async () => {
    const ctx = await model.createContext({ contextSize: 512, batchSize: 64, sequences: 3 });
    expect(ctx.info.sequences).toBe(3);
    // six requests on three sequences: three wait and join as others end
    const results = await Promise.all(prompts.map((p, i) => ctx.complete(p, { temperature: 0, maxTokens: lengths[i] })));
    expect(results.map((r) => r.text)).toEqual(alone);
    expect(results.map((r) => r.timings.generatedTokens)).toEqual(lengths);
    for (const r of results) {
      expect(r.sequence).toBeGreaterThanOrEqual(0);
      expect(r.sequence).toBeLessThan(3);
    }
    // each sequence holds its last stream's prompt and output, ready for reuse
    const again = await ctx.complete(prompts[0]!, { temperature: 0, maxTokens: lengths[0] });
    expect(again.text).toBe(alone[0]);
    await ctx.dispose();
  });

  it("interleaves: every active stream gets a token each step", async () => {
    const ctx = await model.createContext({ contextSize: 2048, batchSize: 64, sequences: 2 });
    const order: number[] = [];
    const run = async (i: number) => {
      // long enough to span many chunks (tokens that come within a millisecond share a chunk), and
      // a few hundred ms, so that a JS thread kept off the cores for a while still sees both streams
      // deliver while the other runs
      for await (const _ of ctx.generate(prompts[i]!, { temperature: 0, maxTokens: 900 })) order.push(i);
    };
    await Promise.all([run(0), run(1)]);
    // both streams produced their chunks while the other was still running (chunks of different
    // streams travel through different queues, so the exact interleaving on the JS side may vary)
    expect(order.filter((i) => i === 0).length).toBeGreaterThan(2);
    expect(order.filter((i) => i === 1).length).toBeGreaterThan(2);
    expect(order.indexOf(1)).toBeLessThan(order.lastIndexOf(0));
    expect(order.indexOf(0)).toBeLessThan(order.lastIndexOf(1));
    await ctx.dispose();
  });

  it("aborting one stream ends it within a step and leaves the others untouched", async () => {
    // 1024 positions per sequence, so that an abort JS raises late (a busy machine) still shows
    const ctx = await model.createContext({ contextSize: 3072, batchSize: 64, sequences: 3 });
    const ac = new AbortController();
    const victim = (async () => {
      let n = 0;
      const it = ctx.generate(prompts[3]!, { temperature: 0, maxTokens: 1000, signal: ac.signal });
      for (;;) {
        const r = await it.next();
        if (r.done) return { n, result: r.value };
        if (++n === 3) ac.abort();
      }
    })();
    const others = Promise.all([0, 2].map((i) => ctx.complete(prompts[i]!, { temperature: 0, maxTokens: lengths[i] })));
    const v = await victim;
    expect(v.result.stopReason).toBe("abort");
    // chunks already queued for JS still arrive; the native stream stopped long before its 1000 tokens
    expect(v.result.timings.generatedTokens).toBeLessThan(300);
    expect((await others).map((r) => r.text)).toEqual([alone[0], alone[2]]);
    await ctx.dispose();
  });

  it("a generation queued behind another on a one-sequence context ends at once when its signal aborts", async () => {
    const ctx = await model.createContext({ contextSize: 4096, batchSize: 64 });
    const long = ctx.complete("x", { temperature: 1, maxTokens: 3000, logitBias: { [model.vocab.eos]: -Infinity } });
    let longDone = false;
    void long.then(() => (longDone = true));
    const ac = new AbortController();
    const queued = ctx.complete(prompts[0]!, { temperature: 0, maxTokens: 5, signal: ac.signal });
    const preAborted = ctx.complete(prompts[0]!, { temperature: 0, maxTokens: 5, signal: AbortSignal.abort() });
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    for (const r of [await queued, await preAborted]) {
      expect(r.stopReason).toBe("abort");
      expect(r.sequence).toBe(-1); // it never started
      expect(r.timings.generatedTokens).toBe(0);
      expect(r.text).toBe("");
    }
    expect(longDone).toBe(false); // ended while the first still generated
    expect((await long).timings.generatedTokens).toBe(3000);
    // the context goes on as before: the next call runs
    expect((await ctx.complete(prompts[0]!, { temperature: 0, maxTokens: lengths[0] })).text).toBe(alone[0]);
    await ctx.dispose();
  });

  it("pins a stream to a sequence and keeps each sequence's cache apart (case 14: sequence ids are checked)", async () => {
    const ctx = await model.createContext({ contextSize: 512, batchSize: 64, sequences: 2 });
    const r1 = await ctx.complete(prompts[0]!, { temperature: 0, maxTokens: 5, sequence: 1 });
    expect(r1.sequence).toBe(1);
    const prompt1 = model.tokenize(prompts[0]!);
    // the cache holds the prompt and every generated token but the last (never decoded)
    expect(Array.from(ctx.cachedTokens(1))).toEqual([...prompt1, ...r1.tokens.slice(0, -1)]);
    expect(ctx.cachedTokens(0).length).toBe(0);
    const r2 = await ctx.complete(prompts[0]!, { temperature: 0, maxTokens: 5, sequence: 1 });
    expect(r2.timings.reusedTokens).toBe(prompt1.length - 1);
    await ctx.clearCache(1);
    expect(ctx.cachedTokens(1).length).toBe(0);
    for (const bad of [-1, 2, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => ctx.cachedTokens(bad)).toThrow(RangeError);
      expect(() => ctx.clearCache(bad)).toThrow(RangeError);
      await expect(ctx.complete("x", { sequence: bad })).rejects.toThrow(/sequence must be an integer in \[0, 1\]/);
    }
    expect(() => ctx.cachedTokens("0" as never)).toThrow(TypeError);
    await ctx.dispose();
  });

  it("dispose ends every running and waiting stream with stopReason abort", async () => {
    const ctx = await model.createContext({ contextSize: 512, batchSize: 64, sequences: 2 });
    const runs = [0, 1, 2, 3].map((i) => ctx.complete(prompts[i]!, { temperature: 0, maxTokens: 10_000 }).catch((e) => e));
    await new Promise((r) => setTimeout(r, 30));
    await ctx.dispose();
    const results = await Promise.all(runs);
    for (const r of results) {
      if (r instanceof Error) expect(r).toBeInstanceOf(DisposedError);
      else expect(r.stopReason).toBe("abort");
    }
    await expect(ctx.complete("x")).rejects.toThrow(DisposedError);
  });

  it("with a unified cache, a full cache ends the longest stream with contextFull; the others go on in the room it leaves", async () => {
    const ctx = await model.createContext({ contextSize: 256, batchSize: 64, sequences: 2, unifiedKvCache: true });
    expect(ctx.info.sequenceContextSize).toBe(256);
    const rs = await Promise.all([
      ctx.complete(prompts[0]!, { temperature: 0, maxTokens: 1000 }),
      ctx.complete(prompts[1]!, { temperature: 0, maxTokens: 1000 }),
    ]);
    expect(rs.map((r) => r.stopReason)).toEqual(["contextFull", "contextFull"]);
    // neither outgrew the 256 cells (its last token is sampled, not stored); the one that ended first
    // shared them, and its cache was dropped for the other to go on
    const sizes = rs.map((r) => r.timings.promptTokens + r.timings.generatedTokens);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(257);
    expect(Math.min(...sizes)).toBeLessThan(200);
    expect(Math.max(...sizes)).toBeGreaterThan(250);
    await ctx.dispose();
  });

  it("contexts decoding at once share the process's cores and each equals its run alone (threads 1, 2, 3; embeddings; one disposed mid-run)", async () => {
    // Decodes lease their threads from one budget of the cores (native/cpu_budget.h): more threads
    // than cores waits for all of them; a context's pool sleeps while another decodes.
    const ctxs = await Promise.all([1, 2, 3].map((threads) => model.createContext({ contextSize: 256, batchSize: 64, threads })));
    // more threads than cores are clamped (they made ggml's spinning barriers hundreds of times slower)
    expect(ctxs.map((c) => c.info.threads)).toEqual([1, 2, 3].map((t) => Math.min(t, os.availableParallelism())));
    const emb = await model.createContext({ contextSize: 256, embeddings: true, threads: 2 });
    const texts = [prompts[2]!, prompts[5]!];
    const embAlone = (await emb.embed(texts)) as Float32Array[];
    const victim = await model.createContext({ contextSize: 256, batchSize: 64 });
    const victimRun = victim.complete(prompts[0]!, { temperature: 0, maxTokens: 1000 });
    const runs = ctxs.map(async (c) => {
      const out: string[] = [];
      for (let i = 0; i < prompts.length; i++) {
        out.push((await c.complete(prompts[i]!, { temperature: 0, maxTokens: lengths[i] })).text);
        await c.clearCache();
      }
      return out;
    });
    const embeds = Array.from({ length: 4 }, () => emb.embed(texts) as Promise<Float32Array[]>);
    await new Promise((r) => setTimeout(r, 5));
    await victim.dispose();
    expect((await victimRun).stopReason).toMatch(/^(abort|contextFull)$/);
    for (const out of await Promise.all(runs)) expect(out).toEqual(alone);
    for (const e of await Promise.all(embeds)) expect(e).toEqual(embAlone);
    await Promise.all([...ctxs, emb].map((c) => c.dispose()));
  });

  it("a separate (non-unified) cache gives each sequence contextSize / sequences cells", async () => {
    // llama.cpp rounds each sequence's share up to a multiple of 256 cells
    const ctx = await model.createContext({ contextSize: 512, batchSize: 64, sequences: 2 });
    expect(ctx.info.sequenceContextSize).toBe(256);
    await expect(ctx.complete(Array.from({ length: 257 }, () => 100))).rejects.toThrow(/a sequence of this context holds 256/);
    const r = await ctx.complete(prompts[0]!, { temperature: 0, maxTokens: 1000 });
    expect(r.stopReason).toBe("contextFull");
    expect(r.timings.promptTokens + r.timings.generatedTokens).toBe(257); // the last token is sampled, never stored
    await ctx.dispose();
  });
});
