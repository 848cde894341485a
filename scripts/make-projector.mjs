#!/usr/bin/env node
// Writes a random-weight multimodal projector ("mmproj") GGUF of a real llama.cpp projector type:
// LLaVA's `mlp` (clip.projector_type = mlp), a tiny ViT (conv patch embedding, position embeddings,
// pre-norm transformer blocks with GELU FFNs) and a two-layer MLP whose output width is the language
// model's embedding width (64 for stories260K). Every key and tensor is one that llama.cpp's clip
// loader (vendor/llama.cpp/tools/mtmd/clip.cpp: load_hparams, load_tensors) and its llava graph
// (models/llava.cpp) read for this type. The tests load it in llama-mtmd-cli and in the addon.
//
//   node scripts/make-projector.mjs OUT.gguf [--out-embd 64] [--seed 1] [--image-size 32] [--patch 8]
//        [--embd 32] [--layers 2] [--heads 2] [--ff 64]
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { normalSource, writeGgufAtomic } from "./make-model.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { GgufValueType } = require(path.join(root, "dist", "index.js"));

/** The test suite's projector: 32 x 32 pictures in 8 x 8 patches (16 image tokens), output 64 wide. */
export const TINY_PROJECTOR = Object.freeze({ outEmbd: 64, imageSize: 32, patch: 8, embd: 32, layers: 2, heads: 2, ff: 64, seed: 11 });

/**
 * @param {object} o
 * @param {string} o.out
 * @param {number} [o.outEmbd] the language model's embedding width
 * @param {number} [o.imageSize] @param {number} [o.patch] @param {number} [o.embd] @param {number} [o.layers]
 * @param {number} [o.heads] @param {number} [o.ff] @param {number} [o.seed]
 */
export async function makeProjector(o) {
  const t = { ...TINY_PROJECTOR, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  const { outEmbd, imageSize, patch, embd, layers, heads, ff } = t;
  if (imageSize % patch !== 0) throw new RangeError("image size must be a multiple of the patch size");
  if (embd % heads !== 0) throw new RangeError("embd must be a multiple of heads");
  const nPatches = (imageSize / patch) ** 2;
  const rand = normalSource(t.seed);
  const randn = (n, scale) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = rand() * scale;
    return a;
  };
  const ones = (n) => new Float32Array(n).fill(1);
  const zeros = (n) => new Float32Array(n);
  const T = GgufValueType;
  const u32 = (key, value) => ({ key, type: T.UINT32, value });
  const metadata = [
    { key: "general.architecture", type: T.STRING, value: "clip" },
    { key: "general.name", type: T.STRING, value: `random-mlp-projector-${embd}x${layers}-to-${outEmbd}` },
    { key: "general.file_type", type: T.UINT32, value: 0 },
    { key: "clip.projector_type", type: T.STRING, value: "mlp" },
    { key: "clip.has_vision_encoder", type: T.BOOL, value: true },
    { key: "clip.use_gelu", type: T.BOOL, value: true },
    u32("clip.vision.image_size", imageSize),
    u32("clip.vision.patch_size", patch),
    u32("clip.vision.embedding_length", embd),
    u32("clip.vision.feed_forward_length", ff),
    u32("clip.vision.block_count", layers),
    u32("clip.vision.projection_dim", outEmbd),
    u32("clip.vision.attention.head_count", heads),
    { key: "clip.vision.attention.layer_norm_epsilon", type: T.FLOAT32, value: 1e-6 },
    { key: "clip.vision.image_mean", type: T.ARRAY, arrayType: T.FLOAT32, value: [0.5, 0.5, 0.5] },
    { key: "clip.vision.image_std", type: T.ARRAY, arrayType: T.FLOAT32, value: [0.5, 0.5, 0.5] },
  ];
  const f32 = (name, shape, data) => ({ name, shape, type: "f32", data });
  const tensors = [
    // conv kernel [KW, KH, C_in, C_out] in ggml order
    f32("v.patch_embd.weight", [patch, patch, 3, embd], randn(patch * patch * 3 * embd, 0.1)),
    f32("v.patch_embd.bias", [embd], randn(embd, 0.1)),
    f32("v.position_embd.weight", [embd, nPatches], randn(embd * nPatches, 0.3)),
    f32("v.pre_ln.weight", [embd], ones(embd)),
    f32("v.pre_ln.bias", [embd], zeros(embd)),
  ];
  const s = 1 / Math.sqrt(embd);
  for (let i = 0; i < layers; i++) {
    const p = `v.blk.${i}.`;
    tensors.push(
      f32(p + "ln1.weight", [embd], ones(embd)),
      f32(p + "ln1.bias", [embd], zeros(embd)),
      f32(p + "attn_q.weight", [embd, embd], randn(embd * embd, s)),
      f32(p + "attn_q.bias", [embd], randn(embd, 0.02)),
      f32(p + "attn_k.weight", [embd, embd], randn(embd * embd, s)),
      f32(p + "attn_k.bias", [embd], randn(embd, 0.02)),
      f32(p + "attn_v.weight", [embd, embd], randn(embd * embd, s)),
      f32(p + "attn_v.bias", [embd], randn(embd, 0.02)),
      f32(p + "attn_out.weight", [embd, embd], randn(embd * embd, s)),
      f32(p + "attn_out.bias", [embd], randn(embd, 0.02)),
      f32(p + "ln2.weight", [embd], ones(embd)),
      f32(p + "ln2.bias", [embd], zeros(embd)),
      f32(p + "ffn_up.weight", [embd, ff], randn(embd * ff, s)),
      f32(p + "ffn_up.bias", [ff], randn(ff, 0.02)),
      f32(p + "ffn_down.weight", [ff, embd], randn(ff * embd, 1 / Math.sqrt(ff))),
      f32(p + "ffn_down.bias", [embd], randn(embd, 0.02)),
    );
  }
  tensors.push(
    f32("mm.0.weight", [embd, outEmbd], randn(embd * outEmbd, 0.2)),
    f32("mm.0.bias", [outEmbd], randn(outEmbd, 0.05)),
    f32("mm.2.weight", [outEmbd, outEmbd], randn(outEmbd * outEmbd, 0.15)),
    f32("mm.2.bias", [outEmbd], randn(outEmbd, 0.05)),
  );
  await writeGgufAtomic(o.out, { metadata, tensors });
  return o.out;
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const out = args.shift();
  if (!out) {
    console.error(
      "usage: node scripts/make-projector.mjs OUT.gguf [--out-embd N] [--seed N] [--image-size N] [--patch N] [--embd N] [--layers N] [--heads N] [--ff N]",
    );
    process.exit(2);
  }
  const keys = {
    "--out-embd": "outEmbd",
    "--seed": "seed",
    "--image-size": "imageSize",
    "--patch": "patch",
    "--embd": "embd",
    "--layers": "layers",
    "--heads": "heads",
    "--ff": "ff",
  };
  const o = { out };
  for (let i = 0; i < args.length; i += 2) {
    const k = keys[args[i]];
    if (!k) {
      console.error(`unknown option ${args[i]}`);
      process.exit(2);
    }
    o[k] = Number(args[i + 1]);
  }
  await makeProjector(o);
  console.error(`wrote ${out}`);
}
