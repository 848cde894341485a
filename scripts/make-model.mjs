#!/usr/bin/env node
// Writes a llama-architecture GGUF with random normal weights (fixed seed) and a real vocabulary
// copied from one of llama.cpp's ggml-vocab-*.gguf files. Used by the tests (a model that exists
// on every fresh clone), the quick start (when the real model is absent) and the benchmarks.
//
//   node scripts/make-model.mjs OUT.gguf [--embd 64] [--layers 2] [--heads 4] [--heads-kv 2]
//        [--ff 128] [--ctx 256] [--type f32|f16|q8_0|q4_0] [--seed 1] [--vocab PATH] [--successor PERIOD]
//   --successor: plant a greedy text that repeats every PERIOD tokens (see makeRandomLlama)
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { writeGguf, readGgufInfo, GgufValueType } = require(path.join(root, "dist", "index.js"));

/** The test suite's small fixture: real llama-spm vocabulary, 2 layers of 64, random weights. */
export const TINY_FIXTURE = Object.freeze({ embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, ctx: 256, seed: 7, outputSigma: 1 });

export const DEFAULT_VOCAB = path.join(root, "vendor", "llama.cpp", "models", "ggml-vocab-llama-spm.gguf");

/** Writes a GGUF through a temporary file beside `out`, so that a reader never sees half a file. */
export async function writeGgufAtomic(out, model) {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await writeGguf(tmp, model);
  fs.renameSync(tmp, out);
}

/** Uniform numbers in [0, 1) from a seed (mulberry32: small, fixed, portable; the weights only need to be stable). */
export function uniformSource(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers from a seed (Box-Muller over uniformSource). */
export function normalSource(seed) {
  const uniform = uniformSource(seed);
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/**
 * A fixed successor for every normal token of a vocabulary (token_type 1; control, unknown and byte
 * tokens get -1 and are nobody's successor): the normal tokens, shuffled with `seed`, split into
 * cycles of `period` tokens (the last one takes the remainder). A model planted with it
 * (makeRandomLlama's `successor`) writes text that repeats every `period` tokens.
 * @param {number[]} tokenTypes @param {{ period?: number, seed?: number }} o @returns {Int32Array}
 */
export function successorMap(tokenTypes, o = {}) {
  const period = o.period ?? 64;
  if (!Number.isInteger(period) || period < 2) throw new RangeError(`successor.period must be an integer >= 2; got ${period}`);
  const normal = [];
  for (let i = 0; i < tokenTypes.length; i++) if (tokenTypes[i] === 1) normal.push(i);
  const uniform = uniformSource(o.seed ?? 1);
  for (let i = normal.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [normal[i], normal[j]] = [normal[j], normal[i]];
  }
  const next = new Int32Array(tokenTypes.length).fill(-1);
  for (let start = 0; start < normal.length; start += period) {
    const end = normal.length - start < 2 * period ? normal.length : start + period;
    for (let i = start; i < end; i++) next[normal[i]] = normal[i + 1 < end ? i + 1 : start];
    if (end === normal.length) break;
  }
  return next;
}

/**
 * @param {object} o
 * @param {string} o.out
 * @param {number} [o.embd] @param {number} [o.layers] @param {number} [o.heads] @param {number} [o.headsKv]
 * @param {number} [o.ff] @param {number} [o.ctx] @param {"f32"|"f16"|"q8_0"|"q4_0"} [o.type] @param {number} [o.seed]
 * @param {number} [o.sigma] @param {number} [o.outputSigma] @param {string} [o.vocab] @param {string} [o.name]
 * @param {{ period?: number, seed?: number, logit?: number }} [o.successor] plant a known greedy text (see
 *   successorMap): the embeddings get a standard deviation of 1 (so the current token dominates the
 *   residual stream over the random layers) and the output projection's row for token y is the
 *   embedding of y's predecessor, scaled so that the planted successor's logit is about `logit`
 *   (default 20). Two models of any shape with the same `successor` options and vocabulary agree on
 *   every greedy token: a target and a draft whose drafts are right, at the cost of real layers.
 */
export async function makeRandomLlama(o) {
  const embd = o.embd ?? 64,
    layers = o.layers ?? 2,
    heads = o.heads ?? 4,
    headsKv = o.headsKv ?? 2;
  const ff = o.ff ?? 128,
    ctx = o.ctx ?? 256,
    type = o.type ?? "f32",
    sigma = o.sigma ?? 0.02;
  // Output projection scale: 0.02 (like the rest) gives near-uniform logits, where the last bit of a
  // float decides greedy ties; test fixtures use ~1 so greedy results are stable across batch shapes.
  const outSigma = o.outputSigma ?? sigma;
  const headDim = embd / heads;
  const vocabInfo = await readGgufInfo(o.vocab ?? DEFAULT_VOCAB, { tensors: false });
  const tokens = vocabInfo.metadata["tokenizer.ggml.tokens"];
  const nVocab = tokens.length;
  const rand = normalSource(o.seed ?? 1);
  const randn = (n, scale = sigma) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rand() * scale;
    return a;
  };
  const ones = (n) => new Float32Array(n).fill(1);
  const T = GgufValueType;
  let embedding, output;
  if (o.successor) {
    const next = successorMap(vocabInfo.metadata["tokenizer.ggml.token_type"], o.successor);
    embedding = randn(embd * nVocab, 1);
    output = new Float32Array(embd * nVocab); // rows of tokens that follow nothing stay zero (logit 0)
    const scale = (o.successor.logit ?? 20) / embd;
    for (let x = 0; x < nVocab; x++) {
      const y = next[x];
      if (y < 0) continue;
      for (let j = 0; j < embd; j++) output[y * embd + j] = embedding[x * embd + j] * scale;
    }
  } else {
    embedding = randn(embd * nVocab);
    output = randn(embd * nVocab, outSigma);
  }
  const metadata = [
    { key: "general.architecture", type: T.STRING, value: "llama" },
    { key: "general.name", type: T.STRING, value: o.name ?? `random-llama-${embd}x${layers}` },
    { key: "general.file_type", type: T.UINT32, value: { f32: 0, f16: 1, q4_0: 2, q8_0: 7 }[type] },
    { key: "llama.context_length", type: T.UINT32, value: ctx },
    { key: "llama.embedding_length", type: T.UINT32, value: embd },
    { key: "llama.block_count", type: T.UINT32, value: layers },
    { key: "llama.feed_forward_length", type: T.UINT32, value: ff },
    { key: "llama.attention.head_count", type: T.UINT32, value: heads },
    { key: "llama.attention.head_count_kv", type: T.UINT32, value: headsKv },
    { key: "llama.rope.dimension_count", type: T.UINT32, value: headDim },
    { key: "llama.attention.layer_norm_rms_epsilon", type: T.FLOAT32, value: 1e-5 },
  ];
  for (const [key, value] of Object.entries(vocabInfo.metadata)) {
    if (!key.startsWith("tokenizer.")) continue;
    const vt = vocabInfo.metadataTypes[key];
    const entry = { key, type: vt, value };
    if (vt === T.ARRAY) {
      const v0 = value[0];
      entry.arrayType =
        key.endsWith(".tokens") || key.endsWith(".merges")
          ? T.STRING
          : key.endsWith(".scores")
            ? T.FLOAT32
            : key.endsWith(".token_type")
              ? T.INT32
              : typeof v0 === "string"
                ? T.STRING
                : T.INT32;
    }
    metadata.push(entry);
  }
  const wt = type; // matrices in the requested type, norms in f32 (as llama.cpp's converters write them)
  const tensors = [
    { name: "token_embd.weight", shape: [embd, nVocab], type: wt, data: embedding },
    { name: "output_norm.weight", shape: [embd], type: "f32", data: ones(embd) },
    { name: "output.weight", shape: [embd, nVocab], type: wt, data: output },
  ];
  for (let i = 0; i < layers; i++) {
    const p = `blk.${i}.`;
    tensors.push(
      { name: p + "attn_norm.weight", shape: [embd], type: "f32", data: ones(embd) },
      { name: p + "attn_q.weight", shape: [embd, embd], type: wt, data: randn(embd * embd) },
      { name: p + "attn_k.weight", shape: [embd, headDim * headsKv], type: wt, data: randn(embd * headDim * headsKv) },
      { name: p + "attn_v.weight", shape: [embd, headDim * headsKv], type: wt, data: randn(embd * headDim * headsKv) },
      { name: p + "attn_output.weight", shape: [embd, embd], type: wt, data: randn(embd * embd) },
      { name: p + "ffn_norm.weight", shape: [embd], type: "f32", data: ones(embd) },
      { name: p + "ffn_gate.weight", shape: [embd, ff], type: wt, data: randn(embd * ff) },
      { name: p + "ffn_up.weight", shape: [embd, ff], type: wt, data: randn(embd * ff) },
      { name: p + "ffn_down.weight", shape: [ff, embd], type: wt, data: randn(ff * embd) },
    );
  }
  await writeGgufAtomic(o.out, { metadata, tensors });
  return o.out;
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const out = args.shift();
  if (!out) {
    console.error(
      "usage: node scripts/make-model.mjs OUT.gguf [--embd N] [--layers N] [--heads N] [--heads-kv N] [--ff N] [--ctx N] [--type f32|f16|q8_0|q4_0] [--seed N] [--vocab PATH] [--successor PERIOD]",
    );
    process.exit(2);
  }
  const o = { out };
  const keys = {
    "--embd": "embd",
    "--layers": "layers",
    "--heads": "heads",
    "--heads-kv": "headsKv",
    "--ff": "ff",
    "--ctx": "ctx",
    "--seed": "seed",
    "--sigma": "sigma",
    "--output-sigma": "outputSigma",
  };
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i],
      v = args[i + 1];
    if (k === "--type") o.type = v;
    else if (k === "--successor") o.successor = { period: Number(v) };
    else if (k === "--vocab") o.vocab = v;
    else if (keys[k]) o[keys[k]] = Number(v);
    else {
      console.error(`unknown option ${k}`);
      process.exit(2);
    }
  }
  await makeRandomLlama(o);
  console.error(`wrote ${out}`);
}
