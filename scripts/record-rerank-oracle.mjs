#!/usr/bin/env node
// Records llama-server's /v1/rerank scores (built from vendor/llama.cpp by scripts/native-tools.mjs,
// started with --reranking) for random-weight rerankers written by scripts/make-reranker.mjs: a BERT
// with llama-server's default pair format (BOS query SEP document), the same with a rerank prompt in
// its metadata (tokenizer.chat_template.rerank), and a Qwen3-Reranker. test/model/rerank.test.ts regenerates the same
// models (their sha256 is recorded) and compares ctx.rank() with these scores.
//   test/fixtures/oracles/rerank.json
//
//   node scripts/record-rerank-oracle.mjs
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildTools, freePort, startServer } from "./native-tools.mjs";
import { QWEN3_RERANKER_FIXTURE, RERANKER_FIXTURE, makeRerankModel } from "./make-reranker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const sha256 = (f) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

/**
 * The models: the BERT fixture as is, the same with a rerank prompt (special tokens in it are
 * parsed), and a Qwen3-Reranker (last-token pooling, yes/no head, softmax, the converter's prompt).
 */
export const RERANK_MODELS = {
  plain: { kind: "bert", extra: {} },
  template: { kind: "bert", extra: { "tokenizer.chat_template.rerank": "[CLS] query: {query} [SEP] document: {document} [SEP]" } },
  qwen3: { kind: "qwen3", extra: {} },
};
export const RERANK_CASES = [
  {
    query: "What is a panda?",
    documents: [
      "hi",
      "it is a bear",
      "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China.",
      "",
      "Paris is the capital of France.",
    ],
  },
  { query: "", documents: ["an empty query", "Ünïcödé ÀÉÎ 漢字 and emoji 🐼"] },
  { query: "{document} in the query", documents: ["{query} in a document", "plain"] },
];
const CONTEXT = 512;

async function serve(bin, model, port) {
  const args = [
    "-m",
    model,
    "--reranking",
    "-c",
    String(CONTEXT),
    "-b",
    String(CONTEXT),
    "-ub",
    String(CONTEXT),
    "-t",
    "1",
    "--port",
    String(port),
  ];
  return { proc: await startServer(bin, args, port, { timeoutMs: 30_000 }), args };
}

const bin = path.join(buildTools(["llama-server"]), "llama-server");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rerank-oracle-"));
const out = {
  about:
    "llama-server /v1/rerank relevance scores for random-weight rerankers (BERT, Qwen3). Recorded by scripts/record-rerank-oracle.mjs with llama-server built from vendor/llama.cpp by scripts/native-tools.mjs; the models are scripts/make-reranker.mjs's makeRandomBertReranker(RERANKER_FIXTURE) with the metadata given, or makeRandomQwen3Reranker(QWEN3_RERANKER_FIXTURE) (sha256 recorded); each run's command and request are what ran.",
  llamaCppCommit: pin.commit,
  fixtures: { bert: RERANKER_FIXTURE, qwen3: QWEN3_RERANKER_FIXTURE },
  recordedAt: new Date().toISOString(),
  models: [],
};
try {
  for (const [name, spec] of Object.entries(RERANK_MODELS)) {
    const model = await makeRerankModel(spec, path.join(dir, `${name}.gguf`));
    const port = await freePort();
    const { proc, args } = await serve(bin, model, port);
    const entry = {
      name,
      ...spec,
      modelSha256: sha256(model),
      command: ["vendor/tools/build/bin/llama-server", ...args.map((a) => (a === model ? `${name}.gguf` : a))],
      runs: [],
    };
    try {
      for (const c of RERANK_CASES) {
        const request = { query: c.query, documents: c.documents, top_n: c.documents.length };
        const res = await fetch(`http://127.0.0.1:${port}/v1/rerank`, {
          method: "POST",
          body: JSON.stringify(request),
          headers: { "content-type": "application/json" },
        });
        const body = await res.json();
        if (!res.ok) throw new Error(`/v1/rerank ${res.status}: ${JSON.stringify(body)}`);
        const scores = new Array(c.documents.length);
        for (const r of body.results) scores[r.index] = r.relevance_score;
        entry.runs.push({ request: { path: "/v1/rerank", ...request }, results: body.results, usage: body.usage, scores });
        console.error(`${name}: ${JSON.stringify(c.query)} → ${scores.map((s) => s.toFixed(4)).join(" ")}`);
      }
    } finally {
      proc.kill();
    }
    out.models.push(entry);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
fs.writeFileSync(path.join(root, "test", "fixtures", "oracles", "rerank.json"), JSON.stringify(out, null, 1) + "\n");
