// The sampler set against llama-server: test/fixtures/oracles/sampling.json holds what llama-server
// (built from the vendored tree; recorded by scripts/record-sampling-oracle.mjs, command inside)
// sampled on stories260K for several settings at temperature > 0 with a fixed seed — penalties, DRY,
// XTC, mirostat 1 and 2, top-n-sigma, typical with minKeep, a mix — and the logprobs it reported.
// The same prompt tokens, seed and options must give the same tokens, and logprobs within 1e-4.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Context, type GenerationOptions, loadModel, type Model } from "../../dist/index.mjs";
import { exactSampling, logprobTolerance, realModelPath, requireRealModel, root } from "../helpers";

interface Case {
  name: string;
  request: Record<string, unknown>;
  tokens: number[];
  probabilities?: { id: number; logprob: number; top: { id: number; logprob: number }[] }[];
}
// logprobs and sampled tokens depend on the SIMD width of the kernels (scripts/simd-class.mjs): the
// recording of this CPU's class
const simd = await import(path.join(root, "scripts", "simd-class.mjs"));
const oracleFile: string = simd.oracleFileFor(path.join(root, "test", "fixtures", "oracles"), "sampling");
const oracle: { modelSha256: string; promptTokens: number[]; cases: Case[]; simd?: string } = JSON.parse(
  fs.readFileSync(oracleFile, "utf8"),
);
const modelPath = realModelPath();

/** llama-server's /completion fields as llama-native options (the fields the oracle uses). */
function toOptions(r: Record<string, unknown>): GenerationOptions {
  const n = (k: string) => r[k] as number | undefined;
  const o: GenerationOptions = { maxTokens: n("n_predict"), temperature: n("temperature"), seed: n("seed") };
  const plain: Record<string, keyof GenerationOptions> = {
    top_k: "topK",
    top_p: "topP",
    min_p: "minP",
    typical_p: "typicalP",
    min_keep: "minKeep",
    top_n_sigma: "topNSigma",
    repeat_penalty: "repeatPenalty",
    frequency_penalty: "frequencyPenalty",
    presence_penalty: "presencePenalty",
    repeat_last_n: "penaltyLastN",
  };
  for (const [k, to] of Object.entries(plain)) if (r[k] !== undefined) (o as Record<string, unknown>)[to] = r[k];
  if (r.dry_multiplier !== undefined) {
    o.dry = {
      multiplier: n("dry_multiplier")!,
      base: n("dry_base"),
      allowedLength: n("dry_allowed_length"),
      penaltyLastN: n("dry_penalty_last_n"),
      sequenceBreakers: r.dry_sequence_breakers as string[] | undefined,
    };
  }
  if (r.xtc_probability !== undefined) o.xtc = { probability: n("xtc_probability")!, threshold: n("xtc_threshold") };
  if (r.mirostat !== undefined) o.mirostat = { version: n("mirostat") as 1 | 2, tau: n("mirostat_tau"), eta: n("mirostat_eta") };
  if (r.n_probs !== undefined) {
    o.logprobs = true;
    o.topLogprobs = n("n_probs");
  }
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as GenerationOptions;
}

describe.runIf(modelPath || requireRealModel)("sampling against llama-server (recorded)", () => {
  let model: Model;
  let ctx: Context;
  beforeAll(async () => {
    model = await loadModel(modelPath!);
    ctx = await model.createContext({ contextSize: 512, threads: 1 });
  });
  afterAll(() => model?.dispose());

  it("was recorded on a CPU of this SIMD class (logprobs and sampled tokens depend on it)", () => {
    expect(
      simd.recordedClass(oracle),
      `${path.basename(oracleFile)} was recorded on ${simd.recordedClass(oracle)} CPUs and this one is ${simd.simdClass()}: record this class with node scripts/record-sampling-oracle.mjs`,
    ).toBe(simd.simdClass());
  });

  it("covers every sampler the issue names", () => {
    const fields = new Set(oracle.cases.flatMap((c) => Object.keys(c.request)));
    for (const f of [
      "repeat_penalty",
      "dry_multiplier",
      "dry_sequence_breakers",
      "xtc_probability",
      "mirostat",
      "top_n_sigma",
      "min_keep",
      "n_probs",
    ]) {
      expect(fields).toContain(f);
    }
    expect(new Set(oracle.cases.map((c) => c.tokens.join(","))).size).toBe(oracle.cases.length); // each setting changed the output
  });

  it("bad values of the new options are TypeError/RangeError before anything runs", async () => {
    const bad: [GenerationOptions, ErrorConstructor, RegExp][] = [
      [{ xtc: { probability: 2 } }, RangeError, /probability/],
      [{ xtc: { threshold: 0.1 } as never }, TypeError, /xtc\.probability is required/],
      [{ xtc: 0.5 as never }, TypeError, /xtc must be an object/],
      [{ dry: { multiplier: -1 } }, RangeError, /multiplier/],
      [{ dry: { multiplier: 1, base: 0.5 } }, RangeError, /base/],
      [{ dry: { multiplier: 1, penaltyLastN: -2 } }, RangeError, /penaltyLastN/],
      [{ dry: { multiplier: 1, sequenceBreakers: "\n" as never } }, TypeError, /sequenceBreakers/],
      [{ dry: { multiplier: 1, sequenceBreakers: Array(65).fill("x") } }, RangeError, /at most 64/],
      [{ mirostat: { version: 3 as never } }, RangeError, /version must be 1 or 2/],
      [{ mirostat: { version: 2, tau: -1 } }, RangeError, /tau/],
      [{ topNSigma: -2 }, RangeError, /topNSigma/],
      [{ minKeep: 1.5 }, RangeError, /minKeep/],
      [{ topLogprobs: 3 }, TypeError, /topLogprobs needs logprobs: true/],
      [{ logprobs: "yes" as never }, TypeError, /logprobs/],
    ];
    for (const [options, type, message] of bad) {
      const err = await ctx.complete("x", options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(options)).toBeInstanceOf(type);
      expect(String(err)).toMatch(message);
    }
  });

  it("logprobs stream with their tokens, and the sampled token is among the top ones when it is likely", async () => {
    const chunks = [];
    const it = ctx.generate("Once upon a time", { maxTokens: 12, temperature: 0.8, seed: 3, logprobs: true, topLogprobs: 40 });
    let r = await it.next();
    while (!r.done) {
      chunks.push(r.value);
      r = await it.next();
    }
    const fromChunks = chunks.flatMap((c) => c.logprobs!);
    expect(fromChunks.map((l) => l.token)).toEqual(chunks.flatMap((c) => Array.from(c.tokens)));
    expect(r.value.logprobs).toEqual(fromChunks);
    for (const l of fromChunks) {
      expect(l.top).toHaveLength(40);
      expect(l.logprob).toBeLessThanOrEqual(0);
      // topK 40 samples among the 40 most likely tokens (ties aside)
      expect(l.top.some((t) => t.token === l.token) || l.logprob <= l.top[39]!.logprob).toBe(true);
      expect(new TextDecoder().decode(l.bytes)).toBe(l.text);
    }
    const plain = await ctx.complete("Once upon a time", { maxTokens: 12, temperature: 0.8, seed: 3 });
    expect(plain.logprobs).toBeUndefined();
    expect(Array.from(plain.tokens)).toEqual(fromChunks.map((l) => l.token)); // asking for logprobs changes nothing sampled
  });

  for (const c of oracle.cases) {
    it(`${c.name}: the tokens llama-server sampled`, async () => {
      ctx.clearCache();
      const r = await ctx.complete(Int32Array.from(oracle.promptTokens), toOptions(c.request));
      if (exactSampling) expect(Array.from(r.tokens)).toEqual(c.tokens);
      else expect([r.tokens.length, r.tokens[0]]).toEqual([c.tokens.length, c.tokens[0]]);
      if (c.probabilities) {
        expect(r.logprobs).toHaveLength(c.probabilities.length);
        r.logprobs!.forEach((lp, i) => {
          const want = c.probabilities![i]!;
          expect(lp.token).toBe(want.id);
          expect(Math.abs(lp.logprob - want.logprob)).toBeLessThan(logprobTolerance);
          expect(lp.top.map((t) => t.token)).toEqual(want.top.map((t) => t.id));
          for (const [j, t] of lp.top.entries()) expect(Math.abs(t.logprob - want.top[j]!.logprob)).toBeLessThan(logprobTolerance);
          expect(lp.top[0]!.logprob).toBeGreaterThanOrEqual(lp.top[lp.top.length - 1]!.logprob);
        });
      }
    });
  }
});
