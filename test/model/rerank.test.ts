// Reranking (pooling "rank", ctx.rank()). Oracle: test/fixtures/oracles/rerank.json, the scores
// llama-server's /v1/rerank returned for random-weight rerankers, BERT and Qwen3 (recorded by
// scripts/record-rerank-oracle.mjs, llama.cpp commit and command inside); the same models are
// regenerated here from scripts/make-reranker.mjs and checked against the recorded sha256.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  AbortError,
  ContextFullError,
  GgufValueType as T,
  LlamaError,
  loadModel,
  type Model,
  readGgufInfo,
  writeGguf,
} from "../../dist/index.mjs";
import { createServer, type LlamaServer } from "../../dist/server/index.mjs";
import { root } from "../helpers";

interface RerankOracle {
  llamaCppCommit: string;
  models: {
    name: string;
    kind: "bert" | "qwen3";
    extra: Record<string, string>;
    modelSha256: string;
    command: string[];
    runs: {
      request: { query: string; documents: string[] };
      results: { index: number; relevance_score: number }[];
      usage: { prompt_tokens: number };
      scores: number[];
    }[];
  }[];
}

const oracle: RerankOracle = JSON.parse(fs.readFileSync(path.join(root, "test", "fixtures", "oracles", "rerank.json"), "utf8"));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-rerank-"));
const sha256 = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const TOLERANCE = 1e-4;

async function makeReranker(
  name: string,
  o: { extra?: Record<string, string>; head?: boolean; clsOut?: boolean; labels?: string[] } = {},
): Promise<string> {
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
    const { makeRerankModel } = await import(path.join(root, "scripts", "make-reranker.mjs"));
    const file = await makeRerankModel(entry, path.join(tmp, `${entry.name}.gguf`));
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

  it("refuses what llama.cpp's tools refuse of the vocabulary (no BOS; no EOS, SEP or rerank prompt)", async () => {
    const { checkRankModel } = await import("../../dist/rank.js");
    const as = (vocab: object, metadata: Record<string, string> = {}) =>
      checkRankModel({ path: model.path, info: { ...model.info, metadata }, vocab: { ...model.vocab, ...vocab } } as never);
    await expect(as({})).resolves.toBeUndefined();
    await expect(as({ bos: -1 })).rejects.toThrow(/needs a BOS token/);
    await expect(as({ eos: -1, sep: -1 })).rejects.toThrow(/needs an EOS or SEP token or a rerank prompt/);
    await expect(as({ eos: -1, sep: -1 }, { "tokenizer.chat_template.rerank": "{query} {document}" })).resolves.toBeUndefined();
  });

  it("refuses a head narrower than the classifier's labels (llama.cpp would read past its output: GGML_ASSERT)", async () => {
    const labels = Array.from({ length: 40 }, (_, i) => `label${i}`);
    const narrow = await loadModel(await makeReranker("narrow", { clsOut: false, labels }));
    await expect(narrow.createContext({ embeddings: true, pooling: "rank" })).rejects.toThrow(
      /its classification head has 32 outputs but its classifier names 40 labels/,
    );
    await narrow.dispose();
    // with cls.output one score per label: rank() gives the first, embed() all of them
    const multi = await loadModel(await makeReranker("multi", { labels: ["yes", "no"] }));
    const ctx = await multi.createContext({ embeddings: true, pooling: "rank", threads: 1 });
    const [all] = await ctx.embed(["q[SEP]d"]);
    expect(all).toHaveLength(2);
    expect(await ctx.rank("q", ["d"])).toHaveLength(1);
    await multi.dispose();
  });

  it("packs no more than ubatchSize tokens per decode (llama.cpp aborts an encoder batch past n_ubatch)", async () => {
    // before the fix: GGML_ASSERT(cparams.n_ubatch >= n_tokens && "encoder requires n_ubatch >= n_tokens")
    const ctx = await model.createContext({ embeddings: true, pooling: "rank", batchSize: 512, ubatchSize: 48, threads: 1 });
    const run = plain.runs[0]!;
    expectClose(await ctx.rank(run.request.query, run.request.documents), run.scores);
    const scores = await ctx.embed(run.request.documents.map((d) => `${run.request.query}[SEP]${d}`));
    expect(scores).toHaveLength(run.request.documents.length);
    await ctx.dispose();
  });

  it("finds the head of a split model in its later file (NAME-00002-of-00002.gguf)", async () => {
    const info = await readGgufInfo(model.path);
    const bytes = fs.readFileSync(model.path);
    const raw = (t: (typeof info.tensors)[number]) => ({
      name: t.name,
      shape: t.shape,
      typeId: t.type,
      bytes: bytes.subarray(info.dataOffset + t.offset, info.dataOffset + t.offset + t.sizeBytes),
    });
    const split = (no: number) => [
      { key: "split.no", type: T.UINT16, value: no },
      { key: "split.count", type: T.UINT16, value: 2 },
      { key: "split.tensors.count", type: T.INT32, value: info.tensors.length },
    ];
    const metadata = Object.entries(info.metadata).map(([key, value]) => ({
      key,
      type: info.metadataTypes[key]!,
      arrayType: info.metadataArrayTypes[key],
      value,
    }));
    const first = path.join(tmp, "split-00001-of-00002.gguf");
    await writeGguf(first, {
      metadata: [...metadata, ...split(0)],
      tensors: info.tensors.filter((t) => !t.name.startsWith("cls.")).map(raw),
    });
    await writeGguf(path.join(tmp, "split-00002-of-00002.gguf"), {
      metadata: [{ key: "general.architecture", type: T.STRING, value: "bert" }, ...split(1)],
      tensors: info.tensors.filter((t) => t.name.startsWith("cls.")).map(raw),
    });
    const parts = await loadModel(first);
    const ctx = await parts.createContext({ embeddings: true, pooling: "rank", threads: 1 });
    const run = plain.runs[0]!;
    expectClose(await ctx.rank(run.request.query, run.request.documents), run.scores);
    await parts.dispose();
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

describe("server: POST /v1/rerank (createServer({ reranking: true }), llama-server's --reranking)", () => {
  const entry = oracle.models.find((m) => m.name === "plain")!;
  let server: LlamaServer;
  let base: string;
  const post = async (route: string, body: unknown) => {
    const res = await fetch(`${base}${route}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
  };
  beforeAll(async () => {
    server = await createServer({ model: await makeReranker("server"), reranking: true, contextSize: 1024, parallel: 1, threads: 1 });
    const addr = await server.listen(0);
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => server?.close());

  it("answers as llama-server did: results sorted by score, top_n, usage", async () => {
    for (const run of entry.runs) {
      const { status, body } = await post("/v1/rerank", { query: run.request.query, documents: run.request.documents });
      expect(status).toBe(200);
      const results = body.results as { index: number; relevance_score: number }[];
      expect(results.map((r) => r.index)).toEqual(run.results.map((r) => r.index));
      expectClose(
        results.map((r) => r.relevance_score),
        run.results.map((r) => r.relevance_score),
      );
      expect(body.object).toBe("list");
      // the tokens llama-server evaluated for the pairs: the same pair format, token for token in count
      expect(body.usage).toEqual({ prompt_tokens: run.usage.prompt_tokens, total_tokens: run.usage.prompt_tokens });
    }
    const run = entry.runs[0]!;
    const top = await post("/rerank", { query: run.request.query, documents: run.request.documents, top_n: 2 });
    expect((top.body.results as unknown[]).length).toBe(2);
    const tei = await post("/reranking", { query: run.request.query, texts: run.request.documents, return_text: true });
    expect(tei.status).toBe(200);
    const first = tei.body[0] as { index: number; score: number; text: string };
    expect(first.index).toBe(run.results[0]!.index);
    expect(first.text).toBe(run.request.documents[first.index]);
  });

  it("refuses bad requests with 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ documents: ["a"] }, "query"],
      [{ query: 1, documents: ["a"] }, "query"],
      [{ query: "q", documents: [] }, "documents"],
      [{ query: "q", documents: ["a", 2] }, "documents"],
      [{ query: "q", documents: ["a"], top_n: -1 }, "top_n"],
    ];
    for (const [body, param] of cases) {
      const r = await post("/v1/rerank", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((r.body as unknown as { error: { param: string } }).error.param).toBe(param);
    }
    const long = Array.from({ length: 600 }, () => "word").join(" ");
    const tooLong = await post("/v1/rerank", { query: "q", documents: ["a", long] });
    expect(tooLong.status).toBe(400);
    expect((tooLong.body as unknown as { error: { type: string; message: string } }).error).toMatchObject({
      type: "exceed_context_size_error",
      message: expect.stringMatching(/documents\[1\] with the query is \d+ tokens/),
    });
  });

  it("random request bodies (a small fuzz over the fields it reads): only 200 or 400, well-formed answers", async () => {
    let seed = 20261202;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    const long = Array.from({ length: 700 }, () => "word").join(" ");
    const strings = ["", "q", "What is a panda?", "[CLS] [SEP] [PAD]", "{query} {document}", "Ünïcödé 漢字 🐼", "\u0000\n\t", long];
    const values: unknown[] = [...strings, null, 0, -1, 1.5, 2 ** 40, true, [], {}, [[]], ["a", 1], { a: "b" }];
    const docsPool: unknown[] = [[], ["a"], strings, [long], Array.from({ length: 70 }, (_, i) => `doc ${i}`), ["a", null], "a", 3];
    for (let i = 0; i < 200; i++) {
      const body: Record<string, unknown> = {};
      if (rand() < 0.9) body.query = rand() < 0.7 ? pick(strings) : pick(values);
      if (rand() < 0.8) body[rand() < 0.8 ? "documents" : "texts"] = rand() < 0.8 ? pick(docsPool) : pick(values);
      if (rand() < 0.3) body.top_n = pick([0, 1, 3, 100, -1, 1.5, "2", null]);
      if (rand() < 0.2) body.return_text = pick([true, false, "yes"]);
      if (rand() < 0.2) body.model = pick(values);
      const { status, body: answer } = await post(pick(["/v1/rerank", "/rerank", "/v1/reranking", "/reranking"]), body);
      expect([200, 400], JSON.stringify(body).slice(0, 200)).toContain(status);
      if (status !== 200) continue;
      const results = (Array.isArray(answer) ? answer : answer.results) as { index: number }[];
      const docs = (body.documents ?? body.texts) as string[];
      expect(results.length).toBe(Math.min(docs.length, typeof body.top_n === "number" ? body.top_n : docs.length));
      for (const r of results) expect(r.index).toBeLessThan(docs.length);
    }
    expect((await post("/v1/rerank", { query: "q", documents: ["d"] })).status).toBe(200); // still up
  });

  it("a server without --reranking answers 501, and a model that cannot rank is refused at start", async () => {
    const plain = await createServer({ model: inject("tinyModel"), contextSize: 256, parallel: 1 });
    const addr = await plain.listen(0);
    const res = await fetch(`http://127.0.0.1:${addr.port}/v1/rerank`, {
      method: "POST",
      body: JSON.stringify({ query: "q", documents: ["d"] }),
    });
    expect(res.status).toBe(501);
    await plain.close();
    await expect(createServer({ model: inject("tinyModel"), contextSize: 256, parallel: 1, reranking: true })).rejects.toThrow(
      /needs a reranker/,
    );
  });
});
