#!/usr/bin/env node
// npm run bench -- --only speculative   (or node bench/speculative.mjs [--runs 5] [--tg 128] [--threads N])
// Generation speed with speculative decoding against without, in the same run: greedy, --tg tokens,
// medians of --runs (each run generates once without and once with speculation, alternating which
// goes first). Rows:
//   - stories260K (the real model, when present): n-gram lookup (llama.cpp's ngram-simple, its
//     default 12/48 and a short 3/8) on its own story, which repeats phrases, and the model as its
//     own draft (every draft kept; the verification's saving against the draft's cost);
//   - bench-134m-peaked Q8_0: run.mjs's bench-134m shape (768 x 12, llama-spm vocabulary, random
//     weights) with an output projection of scale 1, so that its logits have clear maxima (with
//     bench-134m's 0.02 they are near-uniform and any quantization changes the greedy text) and its
//     greedy text repeats itself; n-gram lookup on it, and two draft models: its own Q4_0
//     quantization (same weights: drafts mostly right) and a 2-layer random model of the same
//     vocabulary (drafts never right: the cost of speculation that does not pay).
// Files are written into bench/.cache once.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeRandomLlama } from "../scripts/make-model.mjs";
import { median } from "./stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const cache = path.join(here, ".cache");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    tg: { type: "string", default: "128" },
    threads: { type: "string" },
  },
  strict: true,
});
const int = (name) => {
  const s = values[name];
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`--${name} must be a positive integer; got ${s}`);
  return Number(s);
};
const RUNS = int("runs");
const TG = int("tg");
const THREADS = values.threads ? int("threads") : os.availableParallelism();
const log = (...a) => console.error("[bench speculative]", ...a);
const { loadModel, quantize } = await import(path.join(root, "dist", "index.mjs"));

async function benchModels() {
  fs.mkdirSync(cache, { recursive: true });
  const shape = { embd: 768, heads: 12, headsKv: 4, ff: 2048, ctx: 2048, seed: 1, outputSigma: 1 };
  const out = {};
  const f16 = path.join(cache, "bench-134m-peaked-f16.gguf");
  for (const type of ["q8_0", "q4_0"]) {
    const file = path.join(cache, `bench-134m-peaked-${type}.gguf`);
    if (!fs.existsSync(file)) {
      if (!fs.existsSync(f16)) {
        log("writing bench-134m-peaked F16 (scripts/make-model.mjs)");
        await makeRandomLlama({ out: f16 + ".tmp", ...shape, layers: 12, type: "f16" });
        fs.renameSync(f16 + ".tmp", f16);
      }
      log(`quantizing bench-134m-peaked to ${type.toUpperCase()}`);
      await quantize(f16, file + ".tmp", { type: type.toUpperCase() });
      fs.renameSync(file + ".tmp", file);
    }
    out[type] = file;
  }
  const small = path.join(cache, "bench-draft-64x2-llama-spm.gguf");
  if (!fs.existsSync(small)) {
    log("writing a 2-layer random draft model of the llama-spm vocabulary");
    await makeRandomLlama({ out: small, embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, ctx: 2048, seed: 5 });
  }
  out.small = small;
  return out;
}

async function tps(ctx, prompt) {
  await ctx.clearCache();
  const r = await ctx.complete(prompt, { temperature: 0, maxTokens: TG });
  return { tps: (r.timings.generatedTokens / r.timings.generateMs) * 1000, ...r.timings, text: r.text };
}

async function row(name, target, drafter, speculative, prompt) {
  const plain = await target.createContext({ contextSize: 1024, threads: THREADS });
  const spec = await target.createContext({ contextSize: 1024, threads: THREADS, speculative });
  await tps(plain, prompt); // warm-up
  await tps(spec, prompt);
  const a = [],
    b = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      a.push((await tps(plain, prompt)).tps);
      last = await tps(spec, prompt);
      b.push(last.tps);
    } else {
      last = await tps(spec, prompt);
      b.push(last.tps);
      a.push((await tps(plain, prompt)).tps);
    }
  }
  await plain.dispose();
  await spec.dispose();
  const r = {
    name,
    drafter,
    plain: median(a),
    speculative: median(b),
    drafted: last.draftedTokens,
    accepted: last.acceptedTokens,
    generated: last.generatedTokens,
  };
  log(
    `${name} ${drafter}: ${r.plain.toFixed(1)} -> ${r.speculative.toFixed(1)} t/s (${(r.speculative / r.plain).toFixed(2)}x), accepted ${r.accepted}/${r.drafted}`,
  );
  return r;
}

// What a verification costs: one decode of k tokens (after a 16-token prefix) against a decode of one.
async function decodeCost(model, name) {
  const ctx = await model.createContext({ contextSize: 1024, threads: THREADS });
  const prefix = Array.from({ length: 16 }, (_, i) => 100 + i);
  const out = { name };
  for (const k of [1, 2, 4, 8]) {
    const ms = [];
    for (let i = 0; i < RUNS; i++) {
      await ctx.clearCache();
      await ctx.complete(prefix, { maxTokens: 0 });
      const r = await ctx.complete([...prefix, ...Array.from({ length: k }, (_, j) => 200 + j)], { maxTokens: 0 });
      ms.push(r.timings.promptMs);
    }
    out[k] = median(ms);
  }
  await ctx.dispose();
  log(`${name}: decode of 1/2/4/8 tokens: ${[1, 2, 4, 8].map((k) => out[k].toFixed(2)).join(" / ")} ms`);
  return out;
}

const rows = [];
const costs = [];
const files = await benchModels();
const stories = process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
const STORY = "Once upon a time";
if (fs.existsSync(stories)) {
  const m = await loadModel(stories);
  costs.push(await decodeCost(m, "stories260K"));
  rows.push(await row("stories260K", m, "ngram 12/48", { ngram: true }, STORY));
  rows.push(await row("stories260K", m, "ngram 3/8", { ngram: { sizeN: 3, sizeM: 8 } }, STORY));
  // the model drafting for itself: every draft kept, each drafted token costs a decode of the target
  rows.push(await row("stories260K", m, "draft: itself, max 3", { draft: { model: m } }, STORY));
  await m.dispose();
} else log(`stories260K not found at ${stories}; skipping its rows (set LLAMA_NATIVE_TEST_MODEL)`);
{
  const target = await loadModel(files.q8_0);
  const name = "bench-134m-peaked Q8_0";
  costs.push(await decodeCost(target, name));
  rows.push(await row(name, target, "ngram 12/48", { ngram: true }, STORY));
  rows.push(await row(name, target, "ngram 3/8", { ngram: { sizeN: 3, sizeM: 8 } }, STORY));
  const q4 = await loadModel(files.q4_0);
  rows.push(await row(name, target, "draft: its Q4_0, max 3", { draft: { model: q4 } }, STORY));
  rows.push(await row(name, target, "draft: its Q4_0, max 1", { draft: { model: q4, max: 1 } }, STORY));
  const small = await loadModel(files.small);
  rows.push(await row(name, target, "draft: random 64x2, max 3", { draft: { model: small } }, STORY));
  await small.dispose();
  await q4.dispose();
  await target.dispose();
}

const out = [
  `speculative decoding, greedy tg${TG}, ${THREADS} threads, median of ${RUNS} (${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores)`,
  "",
  "| model | drafter | without t/s | with t/s | ratio | accepted / drafted (last run) |",
  "|---|---|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.drafter} | ${r.plain.toFixed(1)} | ${r.speculative.toFixed(1)} | ${(r.speculative / r.plain).toFixed(2)} | ${r.accepted} / ${r.drafted} |`,
  ),
  "",
  "what a verification costs: one decode of k tokens, relative to a decode of one (after a 16-token prefix)",
  "",
  "| model | 1 token ms | 2 tokens | 4 tokens | 8 tokens |",
  "|---|---:|---:|---:|---:|",
  ...costs.map(
    (c) =>
      `| ${c.name} | ${c[1].toFixed(2)} | ${(c[2] / c[1]).toFixed(2)}x | ${(c[4] / c[1]).toFixed(2)}x | ${(c[8] / c[1]).toFixed(2)}x |`,
  ),
];
console.log(out.join("\n"));
