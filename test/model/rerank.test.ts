// Reranking (pooling "rank", ctx.rank()). Oracle: test/fixtures/oracles/rerank.json, the scores
// llama-server's /v1/rerank returned for random-weight BERT rerankers (recorded by
// scripts/record-rerank-oracle.mjs, llama.cpp commit and command inside); the same models are
// regenerated here from scripts/make-reranker.mjs and checked against the recorded sha256.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AbortError, ContextFullError, LlamaError, loadModel, type Model } from "../../dist/index.mjs";
import { root } from "../helpers";

interface RerankOracle {
  llamaCppCommit: string;
  models: {
    name: string;
    extra: Record<string, string>;
    modelSha256: string;
    command: string[];
    runs: { request: { query: string; documents: string[] }; scores: number[] }[];
  }[];
}

const oracle: RerankOracle = JSON.parse(fs.readFileSync(path.join(root, "test", "fixtures", "oracles", "rerank.json"), "utf8"));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-rerank-"));
const sha256 = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const TOLERANCE = 1e-4;

async function makeReranker(name: string, o: { extra?: Record<string, string>; head?: boolean } = {}): Promise<string> {
  const { makeRandomBertReranker } = await import(path.join(root, "scripts", "make-reranker.mjs"));
  return makeRandomBertReranker({ out: path.join(tmp, `${name}.gguf`), ...o });
}

function expectClose(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(0, ...actual.map((a, i) => Math.abs(a - expected[i]!)));
  expect(worst, `scores ${JSON.stringify(actual)} vs llama-server ${JSON.stringify(expected)}`).toBeLessThan(TOLERANCE);
}

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(oracle.models)("ctx.rank() equals llama-server /v1/rerank ($name)", (entry) => {
  let model: Model;
  beforeAll(async () => {
    const file = await makeReranker(entry.name, { extra: entry.extra });
    expect(sha256(file), "the regenerated model is the one the oracle was recorded with").toBe(entry.modelSha256);
    model = await loadModel(file);
  });
  afterAll(() => model?.dispose());

  it.each(entry.runs.map((r, i) => [i, r] as const))("case %i, all pairs in one batch", async (_, run) => {
    const ctx = await model.createContext({ embeddings: true, pooling: "rank", threads: 1 });
    expectClose(await ctx.rank(run.request.query, run.request.documents), run.scores);
    await ctx.dispose();
  });

  it.skipIf(entry.name !== "plain")(
    "the tolerance tells the pair format apart: llama-embedding's layout (a trailing SEP) scores differently",
    async () => {
      const ctx = await model.createContext({ embeddings: true, pooling: "rank", threads: 1 });
      const run = entry.runs[0]!;
      // what llama-embedding --pooling rank scores for "query\tdocument": [CLS] query [SEP] document [SEP]
      const other = await ctx.embed(run.request.documents.map((d) => `${run.request.query}[SEP]${d}`));
      const worst = Math.max(...other.map((o, i) => Math.abs(o[0]! - run.scores[i]!)));
      expect(worst).toBeGreaterThan(10 * TOLERANCE);
      await ctx.dispose();
    },
  );

  it("every case with two sequences per batch (several native batches) and the model's default pooling", async () => {
    const ctx = await model.createContext({ embeddings: true, sequences: 2, threads: 1 });
    expect(ctx.info.pooling).toBe("rank"); // bert.pooling_type 4, as the converter writes it for a classifier
    for (const run of entry.runs) expectClose(await ctx.rank(run.request.query, run.request.documents), run.scores);
    await ctx.dispose();
  });
});

describe("rank contexts: refusals and bad input", () => {
  let model: Model;
  let plain: RerankOracle["models"][number];
  beforeAll(async () => {
    plain = oracle.models.find((m) => m.name === "plain")!;
    model = await loadModel(await makeReranker("bad-input"));
  });
  afterAll(() => model?.dispose());

  it("refuses pooling rank on a model without a classification head (BERT embedder, llama)", async () => {
    const noHead = await loadModel(await makeReranker("no-head", { head: false }));
    await expect(noHead.createContext({ embeddings: true, pooling: "rank" })).rejects.toThrow(
      /pooling "rank" needs a reranker: a model with a classification head .*no-head\.gguf \(bert\) has none/,
    );
    // the same model embeds with its own pooling, and rank() on that context says what it needs
    const ctx = await noHead.createContext({ embeddings: true });
    expect(ctx.info.pooling).toBe("cls");
    await expect(ctx.rank("q", ["d"])).rejects.toThrow(/rank\(\) needs a context created with \{ embeddings: true, pooling: "rank" \}/);
    await noHead.dispose();
    const llama = await loadModel(inject("tinyModel"));
    const e = await llama.createContext({ embeddings: true, pooling: "rank" }).catch((x) => x);
    expect(e).toBeInstanceOf(LlamaError);
    expect(e.message).toMatch(/\(llama\) has none/);
    await llama.dispose();
  });

  it("refuses pooling rank without embeddings, and rank() on a generation context", async () => {
    await expect(model.createContext({ pooling: "rank" })).rejects.toThrow(RangeError);
    await expect(model.createContext({ pooling: "ranks" as never })).rejects.toThrow(/pooling/);
    const gen = await model.createContext({ contextSize: 64 });
    await expect(gen.rank("q", ["d"])).rejects.toThrow(/needs a context created with/);
    await gen.dispose();
  });

  it("checks its arguments and options", async () => {
    const ctx = await model.createContext({ embeddings: true, pooling: "rank", threads: 1 });
    expect(await ctx.rank("q", [])).toEqual([]);
    await expect(ctx.rank(5 as never, ["d"])).rejects.toThrow(TypeError);
    await expect(ctx.rank("q", "d" as never)).rejects.toThrow(/documents must be an array of strings/);
    await expect(ctx.rank("q", ["d", 7 as never])).rejects.toThrow(/documents\[1\] must be a string/);
    await expect(ctx.rank("q", ["d"], { sigal: undefined } as never)).rejects.toThrow(
      /unknown option "sigal" in rank options; did you mean "signal"/,
    );
    await expect(ctx.rank("q", ["d"], { signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    const long = Array.from({ length: 600 }, () => "word").join(" ");
    const e = await ctx.rank("q", ["short", long]).catch((x) => x);
    expect(e).toBeInstanceOf(ContextFullError);
    expect(e.message).toMatch(/documents\[1\] with the query is \d+ tokens; this context ranks at most 512 per pair/);
    // still usable after the refusals
    const run = plain.runs[0]!;
    expectClose(await ctx.rank(run.request.query, run.request.documents), run.scores);
    await ctx.dispose();
  });

  it("embed() on a rank context gives each input's raw score (never normalized)", async () => {
    const ctx = await model.createContext({ embeddings: true, pooling: "rank", threads: 1 });
    const [a] = await ctx.embed(["some text"]);
    expect(a).toHaveLength(1);
    expect(Math.abs(a![0]!)).not.toBe(1);
    await ctx.dispose();
  });

  it("rank() after dispose is a DisposedError", async () => {
    const ctx = await model.createContext({ embeddings: true, pooling: "rank", threads: 1 });
    await ctx.dispose();
    await expect(ctx.rank("q", ["d"])).rejects.toThrow(/disposed/);
  });
});
