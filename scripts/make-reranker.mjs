#!/usr/bin/env node
// Writes a BERT reranker GGUF with random normal weights (fixed seed): the `bert` architecture with
// a classification head (cls.weight/cls.bias, cls.output.weight/cls.bias, pooling_type 4 = rank) as
// llama.cpp's convert_hf_to_gguf.py writes BertForSequenceClassification models, and the real BERT
// WordPiece vocabulary of vendor/llama.cpp/models/ggml-vocab-bert-bge.gguf. The rerank tests score
// pairs with it and compare with llama-server's /v1/rerank (scripts/record-rerank-oracle.mjs).
//
//   node scripts/make-reranker.mjs OUT.gguf [--no-head] [--seed N]
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { normalSource, writeGgufAtomic } from "./make-model.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { readGgufInfo, GgufValueType } = require(path.join(root, "dist", "index.js"));

export const BERT_VOCAB = path.join(root, "vendor", "llama.cpp", "models", "ggml-vocab-bert-bge.gguf");
/**
 * The tests' reranker: 2 layers of 32, 2 heads, 512 positions, encoder weights of BERT's initializer
 * range (std 0.02). llama.cpp's scores depend a little on which pairs share a batch: ggml's GELU
 * reads an f16 table (GGML_GELU_FP16 in ggml-cpu/vec.h), so a last-bit difference of a matrix
 * product done for another batch shape can move a value by an f16 step. With std 0.1 weights that
 * moved this model's scores by up to 1.1e-3 between batchings (llama-server batches up to its
 * slot count of pairs); at 0.02 by 2e-5, under the 1e-4 the tests allow against llama-server.
 */
export const RERANKER_FIXTURE = Object.freeze({ embd: 32, layers: 2, heads: 2, ff: 64, ctx: 512, seed: 11, sigma: 0.02 });

/**
 * @param {object} o
 * @param {string} o.out
 * @param {number} [o.embd] @param {number} [o.layers] @param {number} [o.heads] @param {number} [o.ff]
 * @param {number} [o.ctx] @param {number} [o.seed]
 * @param {number} [o.sigma] encoder weights' std @param {number} [o.ffnSigma] @param {number} [o.clsSigma] @param {number} [o.outSigma]
 * @param {boolean} [o.head] write the classification head (default true; false: a plain BERT embedder)
 * @param {Record<string, string>} [o.extra] string metadata to add (e.g. tokenizer.chat_template.rerank)
 * @param {string[]} [o.labels] classifier labels (bert.classifier.output_labels; cls.output gets one row each)
 * @param {boolean} [o.clsOut] write cls.output.* (default true; false: a one-layer head, cls.* only)
 */
export async function makeRandomBertReranker(o) {
  const { embd, layers, heads, ff, ctx, seed, sigma } = { ...RERANKER_FIXTURE, ...o };
  const head = o.head ?? true;
  const vocabInfo = await readGgufInfo(BERT_VOCAB, { tensors: false });
  const nVocab = vocabInfo.metadata["tokenizer.ggml.tokens"].length;
  const nTypes = Number(vocabInfo.metadata["tokenizer.ggml.token_type_count"] ?? 2);
  const rand = normalSource(seed);
  const randn = (n, scale) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rand() * scale;
    return a;
  };
  const ones = (n) => new Float32Array(n).fill(1);
  const zeros = (n) => new Float32Array(n);
  const T = GgufValueType;
  const metadata = [
    { key: "general.architecture", type: T.STRING, value: "bert" },
    { key: "general.name", type: T.STRING, value: `random-bert-reranker-${embd}x${layers}` },
    { key: "general.file_type", type: T.UINT32, value: 0 },
    { key: "bert.context_length", type: T.UINT32, value: ctx },
    { key: "bert.embedding_length", type: T.UINT32, value: embd },
    { key: "bert.block_count", type: T.UINT32, value: layers },
    { key: "bert.feed_forward_length", type: T.UINT32, value: ff },
    { key: "bert.attention.head_count", type: T.UINT32, value: heads },
    { key: "bert.attention.layer_norm_epsilon", type: T.FLOAT32, value: 1e-12 },
    { key: "bert.attention.causal", type: T.BOOL, value: false },
    // LLAMA_POOLING_TYPE_RANK for a classifier, CLS for a plain BERT embedder (as the converter writes them)
    { key: "bert.pooling_type", type: T.UINT32, value: head ? 4 : 2 },
  ];
  for (const [key, value] of Object.entries(vocabInfo.metadata)) {
    if (!key.startsWith("tokenizer.")) continue;
    const vt = vocabInfo.metadataTypes[key];
    metadata.push({ key, type: vt, arrayType: vocabInfo.metadataArrayTypes[key], value });
  }
  for (const [key, value] of Object.entries(o.extra ?? {})) metadata.push({ key, type: T.STRING, value });
  if (o.labels) metadata.push({ key: "bert.classifier.output_labels", type: T.ARRAY, arrayType: T.STRING, value: o.labels });
  const w = (name, shape, data) => ({ name, shape, type: "f32", data });
  const ffnSigma = o.ffnSigma ?? sigma;
  const clsSigma = o.clsSigma ?? 0.3;
  const outSigma = o.outSigma ?? 1;
  const tensors = [
    w("token_embd.weight", [embd, nVocab], randn(embd * nVocab, 1)),
    w("token_types.weight", [embd, nTypes], randn(embd * nTypes, sigma)),
    w("position_embd.weight", [embd, ctx], randn(embd * ctx, sigma)),
    w("token_embd_norm.weight", [embd], ones(embd)),
    w("token_embd_norm.bias", [embd], zeros(embd)),
  ];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    for (const x of ["attn_q", "attn_k", "attn_v", "attn_output"]) {
      tensors.push(w(`${p}${x}.weight`, [embd, embd], randn(embd * embd, sigma)), w(`${p}${x}.bias`, [embd], randn(embd, sigma)));
    }
    tensors.push(
      w(`${p}attn_output_norm.weight`, [embd], ones(embd)),
      w(`${p}attn_output_norm.bias`, [embd], zeros(embd)),
      w(`${p}ffn_up.weight`, [embd, ff], randn(embd * ff, sigma)),
      w(`${p}ffn_up.bias`, [ff], randn(ff, sigma)),
      w(`${p}ffn_down.weight`, [ff, embd], randn(ff * embd, ffnSigma)),
      w(`${p}ffn_down.bias`, [embd], randn(embd, sigma)),
      w(`${p}layer_output_norm.weight`, [embd], ones(embd)),
      w(`${p}layer_output_norm.bias`, [embd], zeros(embd)),
    );
  }
  if (head) {
    tensors.push(w("cls.weight", [embd, embd], randn(embd * embd, clsSigma)), w("cls.bias", [embd], randn(embd, sigma)));
    if (o.clsOut ?? true) {
      const n = o.labels?.length ?? 1;
      tensors.push(w("cls.output.weight", [embd, n], randn(embd * n, outSigma)), w("cls.output.bias", [n], randn(n, sigma)));
    }
  }
  await writeGgufAtomic(o.out, { metadata, tensors });
  return o.out;
}

export const QWEN2_VOCAB = path.join(root, "vendor", "llama.cpp", "models", "ggml-vocab-qwen2.gguf");
/** The rerank prompt llama.cpp's converter writes for Qwen3-Reranker (conversion/qwen.py, Qwen3Model). */
export const QWEN3_RERANK_TEMPLATE =
  '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n' +
  "<|im_start|>user\n<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n<Query>: {query}\n<Document>: {document}<|im_end|>\n" +
  "<|im_start|>assistant\n<think>\n\n</think>\n\n";
/** The tests' Qwen3 reranker: 2 layers of 64, 4 heads (2 KV), head size 16. */
// std 0.3: weaker attention leaves the last token (always the prompt's "\n\n") nearly alone, and every
// document scored the same. Between batchings the scores moved by 2.6e-6 (SiLU, no f16 table).
export const QWEN3_RERANKER_FIXTURE = Object.freeze({ embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, ctx: 512, seed: 13, sigma: 0.3 });

/**
 * A Qwen3-Reranker as llama.cpp's converter writes one (conversion/qwen.py): the `qwen3`
 * architecture, cls.output.weight with a "yes" and a "no" row (labels yes/no), pooling_type rank and
 * its rerank prompt; llama.cpp pools the last token, applies cls.output and a softmax, and the
 * score is P(yes). Random weights, the real Qwen2 BPE vocabulary (token embeddings in f16).
 * @param {{ out: string, embd?: number, layers?: number, heads?: number, headsKv?: number, ff?: number, ctx?: number, seed?: number, sigma?: number }} o
 */
export async function makeRandomQwen3Reranker(o) {
  const { embd, layers, heads, headsKv, ff, ctx, seed, sigma } = { ...QWEN3_RERANKER_FIXTURE, ...o };
  const headDim = embd / heads;
  const vocabInfo = await readGgufInfo(QWEN2_VOCAB, { tensors: false });
  const nVocab = vocabInfo.metadata["tokenizer.ggml.tokens"].length;
  const rand = normalSource(seed);
  const randn = (n, scale) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rand() * scale;
    return a;
  };
  const ones = (n) => new Float32Array(n).fill(1);
  const T = GgufValueType;
  const metadata = [
    { key: "general.architecture", type: T.STRING, value: "qwen3" },
    { key: "general.name", type: T.STRING, value: `random-qwen3-reranker-${embd}x${layers}` },
    { key: "general.file_type", type: T.UINT32, value: 0 },
    { key: "qwen3.context_length", type: T.UINT32, value: ctx },
    { key: "qwen3.embedding_length", type: T.UINT32, value: embd },
    { key: "qwen3.block_count", type: T.UINT32, value: layers },
    { key: "qwen3.feed_forward_length", type: T.UINT32, value: ff },
    { key: "qwen3.attention.head_count", type: T.UINT32, value: heads },
    { key: "qwen3.attention.head_count_kv", type: T.UINT32, value: headsKv },
    { key: "qwen3.rope.freq_base", type: T.FLOAT32, value: 1000000 },
    { key: "qwen3.attention.layer_norm_rms_epsilon", type: T.FLOAT32, value: 1e-6 },
    { key: "qwen3.pooling_type", type: T.UINT32, value: 4 },
    { key: "qwen3.classifier.output_labels", type: T.ARRAY, arrayType: T.STRING, value: ["yes", "no"] },
  ];
  for (const [key, value] of Object.entries(vocabInfo.metadata)) {
    if (!key.startsWith("tokenizer.")) continue;
    metadata.push({ key, type: vocabInfo.metadataTypes[key], arrayType: vocabInfo.metadataArrayTypes[key], value });
  }
  metadata.push({ key: "tokenizer.chat_template.rerank", type: T.STRING, value: QWEN3_RERANK_TEMPLATE });
  const w = (name, shape, data, type = "f32") => ({ name, shape, type, data });
  const tensors = [
    w("token_embd.weight", [embd, nVocab], randn(embd * nVocab, 1), "f16"),
    w("output_norm.weight", [embd], ones(embd)),
    w("cls.output.weight", [embd, 2], randn(embd * 2, 1)),
  ];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      w(`${p}attn_norm.weight`, [embd], ones(embd)),
      w(`${p}attn_q.weight`, [embd, embd], randn(embd * embd, sigma)),
      w(`${p}attn_k.weight`, [embd, headDim * headsKv], randn(embd * headDim * headsKv, sigma)),
      w(`${p}attn_v.weight`, [embd, headDim * headsKv], randn(embd * headDim * headsKv, sigma)),
      w(`${p}attn_output.weight`, [embd, embd], randn(embd * embd, sigma)),
      w(`${p}attn_q_norm.weight`, [headDim], ones(headDim)),
      w(`${p}attn_k_norm.weight`, [headDim], ones(headDim)),
      w(`${p}ffn_norm.weight`, [embd], ones(embd)),
      w(`${p}ffn_gate.weight`, [embd, ff], randn(embd * ff, sigma)),
      w(`${p}ffn_up.weight`, [embd, ff], randn(embd * ff, sigma)),
      w(`${p}ffn_down.weight`, [ff, embd], randn(ff * embd, sigma)),
    );
  }
  await writeGgufAtomic(o.out, { metadata, tensors });
  return o.out;
}

/** Writes a model of the oracle's kinds (test/fixtures/oracles/rerank.json): "bert" with `extra` metadata, or "qwen3". */
export function makeRerankModel({ kind, extra }, out) {
  return kind === "qwen3" ? makeRandomQwen3Reranker({ out }) : makeRandomBertReranker({ out, extra });
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const out = args.shift();
  if (!out) {
    console.error("usage: node scripts/make-reranker.mjs OUT.gguf [--no-head] [--seed N]");
    process.exit(2);
  }
  const o = { out };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--no-head") o.head = false;
    else if (args[i] === "--seed") o.seed = Number(args[++i]);
    else {
      console.error(`unknown option ${args[i]}`);
      process.exit(2);
    }
  }
  await makeRandomBertReranker(o);
  console.error(`wrote ${out}`);
}
