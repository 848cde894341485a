// Reranking: score documents against a query with a reranker (a BERT-family or Qwen3 reranker GGUF,
// e.g. bge-reranker converted by llama.cpp's convert_hf_to_gguf.py), then order them.
//   node examples/rerank.mjs [RERANKER.gguf]
// Without a path it writes a random-weight BERT reranker (scripts/make-reranker.mjs) to a temporary
// directory: its scores mean nothing, but every step runs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadModel } from "llama-native";

let modelPath = process.argv[2];
if (!modelPath) {
  const { makeRandomBertReranker } = await import("../scripts/make-reranker.mjs");
  modelPath = await makeRandomBertReranker({ out: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rerank-")), "reranker.gguf") });
}

const model = await loadModel(modelPath);
const ctx = await model.createContext({ embeddings: true, pooling: "rank" });
const query = "What is a panda?";
const documents = [
  "hi",
  "it is a bear",
  "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China.",
];
const scores = await ctx.rank(query, documents); // one score per document, in their order
const ranked = documents.map((text, index) => ({ index, score: scores[index], text })).sort((a, b) => b.score - a.score);
for (const r of ranked) console.log(`${r.score.toFixed(4)}  [${r.index}] ${r.text}`);
await model.dispose();
