// Speculative decoding (createContext({ speculative })): llama.cpp's drafters (a draft model's
// context, n-gram lookup) propose tokens that the target checks in one decode. The oracle is the
// same context's generation without speculation, which the rest of the suite ties to llama.cpp's
// own tools: a draft may only change how many decodes it takes, never a token. Every comparison
// also checks that drafts were made and kept (draftedTokens, acceptedTokens > 0), so that a
// speculation that silently did nothing cannot pass.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DisposedError, LlamaError, type Model, loadModel } from "../../dist/index.mjs";
import { realModelPath, requireRealModel, root } from "../helpers";

const modelPath = realModelPath();
// llama-server's greedy tokens can go the other way at a near-tie with the kernels' SIMD width
// (scripts/simd-class.mjs): the recording of this CPU's class
const simd = await import(path.join(root, "scripts", "simd-class.mjs"));
const oracleFile: string = simd.oracleFileFor(path.join(root, "test", "fixtures", "oracles"), "speculative");

it("the real model is present when CI requires it", () => {
  if (requireRealModel) expect(modelPath, "LLAMA_NATIVE_REQUIRE_REAL_MODEL=1 but stories260K.gguf is missing").toBeDefined();
});

// Shared with the oracle recorder: the prompts, and the random draft model's parameters.
const { PROMPTS, REPETITIVE, RANDOM_DRAFT } = (await import(path.join(root, "scripts", "record-speculative-oracle.mjs"))) as {
  PROMPTS: string[];
  REPETITIVE: string; // n-gram lookup finds its continuation earlier in the sequence
  RANDOM_DRAFT: Record<string, number>;
};

describe.runIf(modelPath !== undefined)("speculative decoding on stories260K", () => {
  let target: Model;
  let randomDraft: Model; // random weights, stories260K's vocabulary: a draft that is often wrong
  let tmp: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-spec-"));
    const { makeRandomLlama } = await import(path.join(root, "scripts", "make-model.mjs"));
    const draftPath = path.join(tmp, "random-stories-vocab.gguf");
    await makeRandomLlama({ out: draftPath, vocab: modelPath, ...RANDOM_DRAFT });
    target = await loadModel(modelPath!);
    randomDraft = await loadModel(draftPath);
  });
  afterAll(async () => {
    await randomDraft?.dispose();
    await target?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function plain(prompt: string | number[], options: { maxTokens: number; temperature?: number; seed?: number }) {
    const ctx = await target.createContext({ contextSize: 512 });
    try {
      return await ctx.complete(prompt, { temperature: 0, logprobs: true, topLogprobs: 2, ...options });
    } finally {
      await ctx.dispose();
    }
  }

  // Greedy tokens with speculation equal those without, except that where the model's two best
  // tokens are within float rounding of each other the batch shape may pick the other one: a
  // verification decode of several tokens sums in another order than a one-token decode (llama.cpp's
  // speculative decoding has the same property). So: equal up to the first difference, which must
  // be at such a near-tie (top two log-probabilities within 1e-3), and the near-tie is rare.
  function expectSameGreedy(got: { tokens: Int32Array }, want: Awaited<ReturnType<typeof plain>>, label = "", rareTie = true) {
    const a = Array.from(got.tokens);
    const b = Array.from(want.tokens);
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    if (i === a.length && i === b.length) return;
    const top = want.logprobs?.[i]?.top ?? [];
    const margin = top.length >= 2 ? top[0]!.logprob - top[1]!.logprob : Infinity;
    expect(margin, `${label} first difference at token ${i} of ${b.length} is not a near-tie`).toBeLessThan(1e-3);
    if (rareTie) expect(i, `${label} differs early`).toBeGreaterThan(b.length / 2);
  }

  // llama-server with the same drafters (scripts/record-speculative-oracle.mjs): its greedy tokens,
  // drafted and accepted counts. The same batches are decoded in the same order, so the tokens are
  // exactly its tokens, near-ties included.
  it.runIf(fs.existsSync(oracleFile))("equals llama-server --spec-type draft-simple / ngram-simple, tokens and draft counts", async () => {
    const oracle = JSON.parse(fs.readFileSync(oracleFile, "utf8"));
    expect(
      simd.recordedClass(oracle),
      `${path.basename(oracleFile)} was recorded on ${simd.recordedClass(oracle)} CPUs and this one is ${simd.simdClass()}: record this class with node scripts/record-speculative-oracle.mjs`,
    ).toBe(simd.simdClass());
    const draftPath = path.join(tmp, "random-stories-vocab.gguf");
    expect(crypto.createHash("sha256").update(fs.readFileSync(draftPath)).digest("hex")).toBe(oracle.randomDraft.sha256);
    const speculative = {
      draftSelf: { draft: { model: target, max: 3 } },
      draftRandom: { draft: { model: randomDraft, max: 4 } },
      ngram: { ngram: { sizeN: 3, sizeM: 8 } },
    } as const;
    let compared = 0;
    for (const config of oracle.configs) {
      const ctx = await target.createContext({ contextSize: 512, speculative: speculative[config.name as keyof typeof speculative] });
      for (const c of config.cases) {
        const got = await ctx.complete(c.promptTokens, { temperature: 0, maxTokens: c.request.n_predict });
        expect(Array.from(got.tokens), `${config.name} ${c.prompt}`).toEqual(c.tokens);
        expect(got.timings.draftedTokens, `${config.name} ${c.prompt} drafted`).toBe(c.draftN);
        expect(got.timings.acceptedTokens, `${config.name} ${c.prompt} accepted`).toBe(c.draftNAccepted);
        compared++;
      }
      await ctx.dispose();
    }
    expect(compared).toBe(7);
  });

  it("greedy output with a draft model (itself) is the output without, and most drafts are kept", async () => {
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: target } } });
    for (const prompt of PROMPTS) {
      const want = await plain(prompt, { maxTokens: 80 });
      const got = await ctx.complete(prompt, { temperature: 0, maxTokens: 80 });
      expectSameGreedy(got, want, prompt);
      expect(want.timings.draftedTokens).toBe(0);
      expect(got.timings.draftedTokens).toBeGreaterThan(0);
      // the same model drafts what the target samples (greedy both): nearly every draft is kept
      expect(got.timings.acceptedTokens).toBeLessThanOrEqual(got.timings.draftedTokens);
      expect(got.timings.acceptedTokens).toBeGreaterThan(got.timings.draftedTokens * 0.8);
    }
    await ctx.dispose();
  });

  it("greedy output with a random-weight draft of the same vocabulary is the output without (rejections exercised)", async () => {
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: randomDraft, max: 4 } } });
    for (const prompt of PROMPTS) {
      const want = await plain(prompt, { maxTokens: 64 });
      const got = await ctx.complete(prompt, { temperature: 0, maxTokens: 64 });
      expectSameGreedy(got, want, prompt);
      expect(got.timings.draftedTokens).toBeGreaterThan(0);
      // a random model's drafts are mostly rejected: the rejected tail was removed from the cache
      expect(got.timings.acceptedTokens).toBeLessThan(got.timings.draftedTokens);
    }
    await ctx.dispose();
  });

  it("n-gram lookup: identical greedy output, and drafts are kept on repetitive text", async () => {
    const want = await plain(REPETITIVE, { maxTokens: 96 });
    const ctx = await target.createContext({ contextSize: 512, speculative: { ngram: { sizeN: 3, sizeM: 8 } } });
    const got = await ctx.complete(REPETITIVE, { temperature: 0, maxTokens: 96 });
    expectSameGreedy(got, want);
    expect(got.timings.draftedTokens).toBeGreaterThan(0);
    expect(got.timings.acceptedTokens).toBeGreaterThan(0);
    expect(got.timings.acceptedTokens).toBeLessThanOrEqual(got.timings.draftedTokens);
    // llama.cpp's defaults (12-gram, 48 drafted) need 61 tokens of history: same output too
    const ctxDefault = await target.createContext({ contextSize: 512, speculative: { ngram: true } });
    const got2 = await ctxDefault.complete(REPETITIVE, { temperature: 0, maxTokens: 96 });
    expectSameGreedy(got2, want);
    await ctxDefault.dispose();
    await ctx.dispose();
  });

  it("sampled (temperature 0.8, fixed seed): the same tokens as without speculation", async () => {
    // Each position is sampled by the stream's own sampler from the target's logits, in the same order
    // and with the same random draws as without a draft; only kept drafts skip a decode.
    for (const seed of [1, 2, 3]) {
      const want = await plain("Once upon a time", { maxTokens: 64, temperature: 0.8, seed });
      const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: target } } });
      const got = await ctx.complete("Once upon a time", { maxTokens: 64, temperature: 0.8, seed });
      expect(Array.from(got.tokens)).toEqual(Array.from(want.tokens));
      expect(got.timings.draftedTokens).toBeGreaterThan(0);
      await ctx.dispose();
    }
  });

  it("several concurrent sequences: each as alone without speculation", async () => {
    for (const speculative of [{ draft: { model: target } }, { draft: { model: randomDraft } }, { ngram: { sizeN: 2, sizeM: 6 } }]) {
      const ctx = await target.createContext({ contextSize: 1536, sequences: 3, speculative });
      const prompts = [...PROMPTS.slice(0, 2), REPETITIVE];
      const runs = await Promise.all(prompts.map((p) => ctx.complete(p, { temperature: 0, maxTokens: 48 })));
      for (let i = 0; i < prompts.length; i++) {
        const want = await plain(prompts[i]!, { maxTokens: 48 });
        expectSameGreedy(runs[i]!, want, `${Object.keys(speculative)[0]} prompt ${i}`);
      }
      expect(runs.reduce((n, r) => n + r.timings.draftedTokens, 0)).toBeGreaterThan(0);
      // a follow-up in a used sequence: the draft cache catches up with the target's
      const again = await ctx.complete(PROMPTS[0]!, { temperature: 0, maxTokens: 48 });
      expectSameGreedy(again, await plain(PROMPTS[0]!, { maxTokens: 48 }), "follow-up");
      await ctx.dispose();
    }
  });

  it("long drafts beside a starting stream's prompt in a small batch: both as without speculation", async () => {
    // n-gram drafts of up to 40 tokens, a 64-token batch: the generating stream's drafts share it with
    // another stream's 300-token prompt (while that prompt is decoded, drafts take at most half)
    const ctx = await target.createContext({
      contextSize: 1024,
      batchSize: 64,
      sequences: 2,
      speculative: { ngram: { sizeN: 1, sizeM: 40 } },
    });
    const longPrompt = `${REPETITIVE}. ${REPETITIVE}. ${REPETITIVE}. ${REPETITIVE}. ${REPETITIVE}`;
    const a = ctx.complete(REPETITIVE, { temperature: 0, maxTokens: 200 });
    await new Promise((r) => setTimeout(r, 2));
    const b = ctx.complete(longPrompt, { temperature: 0, maxTokens: 32 });
    const [ra, rb] = await Promise.all([a, b]);
    expect(rb.timings.evaluatedPromptTokens).toBeGreaterThan(128);
    // verification batches of up to 32 tokens: ties round differently more often; each difference is a near-tie
    expectSameGreedy(ra, await plain(REPETITIVE, { maxTokens: 200 }), "generating", false);
    expectSameGreedy(rb, await plain(longPrompt, { maxTokens: 32 }), "starting");
    expect(ra.timings.draftedTokens).toBeGreaterThan(0);
    await ctx.dispose();
  });

  it("maxTokens and stop strings end where they would without speculation", async () => {
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: target, max: 8 } } });
    for (const maxTokens of [1, 2, 5, 9]) {
      const want = await plain(PROMPTS[0]!, { maxTokens });
      const got = await ctx.complete(PROMPTS[0]!, { temperature: 0, maxTokens });
      expectSameGreedy(got, want);
      expect(got.timings.generatedTokens).toBe(maxTokens);
    }
    const full = await plain(PROMPTS[0]!, { maxTokens: 40 });
    const stop = full.text.slice(20, 24);
    const ctxPlain = await target.createContext({ contextSize: 512 });
    const want = await ctxPlain.complete(PROMPTS[0]!, { temperature: 0, maxTokens: 40, stop: [stop] });
    const got = await ctx.complete(PROMPTS[0]!, { temperature: 0, maxTokens: 40, stop: [stop] });
    expect(got.stopReason).toBe("stop");
    expect(got.text).toBe(want.text);
    await ctxPlain.dispose();
    await ctx.dispose();
  });

  it("with context shift, a grammar and logprobs: what the same context gives without speculation", async () => {
    // context shift: the draft model's cache follows the target's shifted sequence
    const base = { contextSize: 128, contextShift: { keep: 2 } };
    const opts = { temperature: 0, maxTokens: 300, logprobs: true, topLogprobs: 2 } as const;
    const plainShift = await target.createContext(base);
    const want = await plainShift.complete(PROMPTS[0]!, opts);
    await plainShift.dispose();
    let compared = 0;
    for (const speculative of [{ draft: { model: target } }, { draft: { model: randomDraft } }, { ngram: { sizeN: 2, sizeM: 4 } }]) {
      const ctx = await target.createContext({ ...base, speculative });
      const got = await ctx.complete(PROMPTS[0]!, opts);
      expect(got.timings.generatedTokens).toBeGreaterThan(128); // it did shift
      expectSameGreedy(got, want, `shift ${Object.keys(speculative)[0]}`);
      if (Array.from(got.tokens).every((t, i) => t === want.tokens[i])) {
        // log-probabilities read at each verified position equal the one-token decodes' within rounding (1e-2: the shifted
        // cache is re-roped in other batch shapes; 5.3e-3 apart at one position on an AVX-512 AMD EPYC, 2026-12-03; the
        // sanitized -O1 build contracts FMAs differently on top of that)
        const tol = 1e-2;
        for (let i = 0; i < got.logprobs!.length; i++) {
          expect(Math.abs(got.logprobs![i]!.logprob - want.logprobs![i]!.logprob), `position ${i}`).toBeLessThan(tol);
        }
        compared++;
      }
      await ctx.dispose();
    }
    expect(compared).toBeGreaterThan(0);
    // a grammar constrains the stream's sampler, which also verifies: drafts outside it are rejected
    const grammar = 'root ::= ("Tom" | " had" | " a" | " ball" | ".")+';
    const plainCtx = await target.createContext({ contextSize: 512 });
    const wantG = await plainCtx.complete(REPETITIVE, { temperature: 0, maxTokens: 40, grammar });
    await plainCtx.dispose();
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: target } } });
    const gotG = await ctx.complete(REPETITIVE, { temperature: 0, maxTokens: 40, grammar });
    expect(gotG.text).toBe(wantG.text);
    expect(gotG.timings.draftedTokens).toBeGreaterThan(0);
    await ctx.dispose();
  });

  it("a restored sequence state: the draft model's cache catches up, the continuation is the one without speculation", async () => {
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: target } } });
    const first = await ctx.complete(PROMPTS[0]!, { temperature: 0, maxTokens: 24 });
    const state = await ctx.getState();
    const held = Array.from(ctx.cachedTokens());
    await ctx.complete(PROMPTS[1]!, { temperature: 0, maxTokens: 24 }); // the sequence now holds something else
    await ctx.setState(state);
    const next = [...held, ...target.tokenize(" and then", { addSpecial: false })];
    const got = await ctx.complete(next, { temperature: 0, maxTokens: 40 });
    expect(got.timings.reusedTokens).toBe(held.length);
    expect(got.timings.draftedTokens).toBeGreaterThan(0);
    expectSameGreedy(got, await plain(next, { maxTokens: 40 }), "after setState");
    expect(first.timings.draftedTokens).toBeGreaterThan(0);
    await ctx.dispose();
  });

  it("an abort mid-generation ends it; dispose mid-generation is safe; the context goes on", async () => {
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: target } } });
    const controller = new AbortController();
    const stream = ctx.generate(PROMPTS[0]!, { temperature: 0.9, maxTokens: 400, signal: controller.signal });
    let chunks = 0;
    let aborted: unknown;
    try {
      for await (const _ of stream) {
        if (++chunks === 2) controller.abort();
      }
    } catch (e) {
      aborted = e;
    }
    expect(aborted === undefined || aborted instanceof LlamaError).toBe(true);
    const after = await ctx.complete(PROMPTS[1]!, { temperature: 0, maxTokens: 32 });
    expectSameGreedy(after, await plain(PROMPTS[1]!, { maxTokens: 32 }));
    const running = ctx.complete(PROMPTS[2]!, { temperature: 0.9, maxTokens: 400 });
    await new Promise((r) => setTimeout(r, 5));
    await ctx.dispose();
    await running.then(
      (r) => expect(["abort", "maxTokens", "eog"]).toContain(r.stopReason),
      (e) => expect(e).toBeInstanceOf(LlamaError),
    );
  });

  it("a draft model disposed while the context lives: the context keeps its weights", async () => {
    const draftPath = path.join(tmp, "random-stories-vocab.gguf");
    const draft = await loadModel(draftPath);
    const ctx = await target.createContext({ contextSize: 512, speculative: { draft: { model: draft } } });
    await draft.dispose();
    const got = await ctx.complete(PROMPTS[0]!, { temperature: 0, maxTokens: 32 });
    expectSameGreedy(got, await plain(PROMPTS[0]!, { maxTokens: 32 }));
    expect(got.timings.draftedTokens).toBeGreaterThan(0);
    await ctx.dispose();
    // a disposed model cannot be given as a draft
    await expect(target.createContext({ speculative: { draft: { model: draft } } })).rejects.toThrow(DisposedError);
  });

  it("a draft model of another vocabulary is refused, naming the difference", async () => {
    const other = await loadModel(inject("tinyModel")); // llama-spm vocabulary, 32000 tokens
    const err = await target.createContext({ speculative: { draft: { model: other } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlamaError);
    expect(String((err as Error).message)).toMatch(/draft model's vocabulary does not match.*512 tokens.*32000/);
    await other.dispose();
  });

  it("options are strict and range-checked", async () => {
    await expect(target.createContext({ speculative: { draf: { model: target } } } as never)).rejects.toThrow(
      /unknown option "draf" in speculative options; did you mean "draft"\?/,
    );
    await expect(target.createContext({ speculative: { draft: { model: target, maxx: 3 } } } as never)).rejects.toThrow(
      /unknown option "maxx" in speculative.draft options; did you mean "max"\?/,
    );
    await expect(target.createContext({ speculative: { ngram: { sizen: 3 } } } as never)).rejects.toThrow(/did you mean "sizeN"\?/);
    await expect(target.createContext({ speculative: {} })).rejects.toThrow(/one of draft or ngram/);
    await expect(target.createContext({ speculative: { draft: { model: target }, ngram: true } })).rejects.toThrow(/one of draft or ngram/);
    await expect(target.createContext({ speculative: { draft: {} as never } })).rejects.toThrow(/model is required/);
    await expect(target.createContext({ speculative: { draft: { model: {} as never } } })).rejects.toThrow(TypeError);
    await expect(target.createContext({ speculative: { draft: { model: target, max: 0 } } })).rejects.toThrow(RangeError);
    await expect(target.createContext({ speculative: { draft: { model: target, pMin: 2 } } })).rejects.toThrow(RangeError);
    await expect(target.createContext({ speculative: { draft: { model: target, max: 2, min: 3 } } })).rejects.toThrow(
      /min \(3\) must not exceed/,
    );
    await expect(target.createContext({ embeddings: true, speculative: { ngram: true } })).rejects.toThrow(/embeddings/);
  });
});

// Everywhere (no real model needed): the random-weight fixture drafting for itself, and n-gram lookup.
describe("speculative decoding on the generated fixture", () => {
  it("greedy tokens with speculation are those without; drafts are made and kept", async () => {
    const model = await loadModel(inject("tinyModel"));
    try {
      const plainCtx = await model.createContext({ contextSize: 256 });
      expect(plainCtx.info.speculative).toBe("none");
      const want = await plainCtx.complete("Once upon a time", { temperature: 0, maxTokens: 48 });
      await plainCtx.dispose();
      for (const speculative of [{ draft: { model } }, { ngram: { sizeN: 2, sizeM: 4 } }]) {
        const ctx = await model.createContext({ contextSize: 256, speculative });
        expect(ctx.info.speculative).toBe(Object.keys(speculative)[0]);
        const got = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 48 });
        expect(Array.from(got.tokens), Object.keys(speculative)[0]).toEqual(Array.from(want.tokens));
        expect(got.timings.acceptedTokens).toBeLessThanOrEqual(got.timings.draftedTokens);
        if ("draft" in speculative) expect(got.timings.acceptedTokens).toBeGreaterThan(0);
        await ctx.dispose();
      }
    } finally {
      await model.dispose();
    }
  });
});

// The speculative bench's premise (bench/speculative.mjs, bench-134m-planted): two models planted with
// the same successors (scripts/make-model.mjs `successor`) write the planted text greedily, so a
// small one drafts for a larger one and every draft is kept; n-gram lookup on a prompt that holds a
// whole cycle drafts the rest of it. Shapes differ from the bench's only in size.
describe("planted models (the speculative bench's target and draft)", () => {
  let tmp: string;
  let target: Model;
  let draft: Model;
  let next: Int32Array;
  const plant = { period: 16, seed: 11 };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-planted-"));
    const { makeRandomLlama, successorMap } = await import(path.join(root, "scripts", "make-model.mjs"));
    const shape = { heads: 4, headsKv: 2, ctx: 512, type: "f16", successor: plant };
    const targetPath = await makeRandomLlama({ out: path.join(tmp, "target.gguf"), embd: 128, layers: 3, ff: 256, seed: 2, ...shape });
    const draftPath = await makeRandomLlama({ out: path.join(tmp, "draft.gguf"), embd: 64, layers: 1, ff: 128, seed: 3, ...shape });
    const { readGgufInfo } = await import("../../dist/index.mjs");
    next = successorMap((await readGgufInfo(targetPath, { tensors: false })).metadata["tokenizer.ggml.token_type"], plant);
    target = await loadModel(targetPath);
    draft = await loadModel(draftPath);
  });
  afterAll(async () => {
    await draft?.dispose();
    await target?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const cycle = (start: number, n: number) => {
    const out = [start];
    while (out.length < n) out.push(next[out.at(-1)!]!);
    return out;
  };

  it("each writes the planted text, and speculation keeps every draft", async () => {
    const start = 1000;
    expect(next[start], "token 1000 is a normal token with a successor").toBeGreaterThan(0);
    for (const model of [target, draft]) {
      const ctx = await model.createContext({ contextSize: 256 });
      const r = await ctx.complete([start], { temperature: 0, maxTokens: 40 });
      expect(Array.from(r.tokens)).toEqual(cycle(next[start]!, 40));
      await ctx.dispose();
    }
    for (const [speculative, prompt] of [
      [{ draft: { model: draft, max: 4 } }, [start]],
      [{ ngram: { sizeN: 4, sizeM: 8 } }, cycle(start, plant.period + 1)],
    ] as const) {
      const ctx = await target.createContext({ contextSize: 256, speculative });
      const r = await ctx.complete([...prompt], { temperature: 0, maxTokens: 40 });
      expect(Array.from(r.tokens), Object.keys(speculative)[0]).toEqual(cycle(next[prompt.at(-1)!]!, 40));
      expect(r.timings.draftedTokens, Object.keys(speculative)[0]).toBeGreaterThanOrEqual(20);
      expect(r.timings.acceptedTokens).toBe(r.timings.draftedTokens);
      await ctx.dispose();
    }
  });
});
