#!/usr/bin/env node
// npm run bench -- --only speculative   (or node bench/speculative.mjs [--runs 5] [--tg 128] [--threads N]
//   [--models stories260K,bench-134m-peaked,bench-134m-planted] [--skip-peer: no llama-server rows])
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
//     vocabulary (drafts never right: the cost of speculation that does not pay);
//   - bench-134m-planted Q8_0: the same shape and cost with a planted greedy text (make-model.mjs's
//     `successor`: each token's greedy successor is fixed, in cycles of 64 tokens), so that drafts
//     can be right without a trained model: n-gram lookup on a prompt that holds one cycle
//     (repetitive text: the output copies the prompt) and a 2-layer 64-wide draft model planted
//     with the same successors (a small draft of the target's vocabulary that agrees with it).
//     These rows also run llama-server (built from the vendored tree) with the same models and
//     spec flags, without and with speculation: llama.cpp's own speed-up on the same input.
// Files are written into bench/.cache once.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeRandomLlama, successorMap } from "../scripts/make-model.mjs";
import { buildTools, freePort, startServer, stopServer } from "../scripts/native-tools.mjs";
import { median } from "./stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const cache = path.join(here, ".cache");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    tg: { type: "string", default: "128" },
    threads: { type: "string" },
    "skip-peer": { type: "boolean", default: false },
    models: { type: "string", default: "stories260K,bench-134m-peaked,bench-134m-planted" },
  },
  strict: true,
});
const int = (name) => {
  const s = values[name];
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`--${name} must be a positive integer; got ${s}`);
  return Number(s);
};
const RUNS = int("runs");
const MODELS = new Set(values.models.split(","));
const TG = int("tg");
const THREADS = values.threads ? int("threads") : os.availableParallelism();
const log = (...a) => console.error("[bench speculative]", ...a);
const { loadModel, quantize, readGgufInfo } = await import(path.join(root, "dist", "index.mjs"));
// The planted successors shared by the planted target and its draft (make-model.mjs successorMap).
const PLANT = { period: 64, seed: 11 };

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
  const plantedF16 = path.join(cache, "bench-134m-planted-f16.gguf");
  out.planted = path.join(cache, "bench-134m-planted-q8_0.gguf");
  if (!fs.existsSync(out.planted)) {
    if (!fs.existsSync(plantedF16)) {
      log("writing bench-134m-planted F16 (scripts/make-model.mjs, successor)");
      await makeRandomLlama({ out: plantedF16, ...shape, layers: 12, type: "f16", successor: PLANT });
    }
    log("quantizing bench-134m-planted to Q8_0");
    await quantize(plantedF16, out.planted + ".tmp", { type: "Q8_0" });
    fs.renameSync(out.planted + ".tmp", out.planted);
  }
  out.plantedDraft = path.join(cache, "bench-draft-64x2-planted.gguf");
  if (!fs.existsSync(out.plantedDraft)) {
    log("writing a 2-layer draft model planted with the same successors");
    const o = { embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, ctx: 2048, seed: 5, type: "f16", successor: PLANT };
    await makeRandomLlama({ out: out.plantedDraft, ...o });
  }
  return out;
}

async function tps(ctx, prompt) {
  await ctx.clearCache();
  const r = await ctx.complete(prompt, { temperature: 0, maxTokens: TG });
  return { tps: (r.timings.generatedTokens / r.timings.generateMs) * 1000, ...r.timings, text: r.text };
}

// One warm-up each, then RUNS measurements of each, alternating which goes first: the medians of
// withoutFn's and withFn's results (numbers), and withFn's last full result.
async function interleaved(withoutFn, withFn) {
  await withoutFn();
  await withFn();
  const a = [],
    b = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      if (k === 0) a.push((await withoutFn()).tps);
      else {
        last = await withFn();
        b.push(last.tps);
      }
    }
  }
  return { plain: median(a), speculative: median(b), last };
}

async function row(name, target, drafter, speculative, prompt) {
  const plain = await target.createContext({ contextSize: 1024, threads: THREADS });
  const spec = await target.createContext({ contextSize: 1024, threads: THREADS, speculative });
  const m = await interleaved(
    () => tps(plain, prompt),
    () => tps(spec, prompt),
  );
  const last = m.last;
  await plain.dispose();
  await spec.dispose();
  const r = {
    name,
    drafter,
    engine: "llama-native",
    plain: m.plain,
    speculative: m.speculative,
    drafted: last.draftedTokens,
    accepted: last.acceptedTokens,
    generated: last.generatedTokens,
  };
  log(
    `${name} ${drafter}: ${r.plain.toFixed(1)} -> ${r.speculative.toFixed(1)} t/s (${(r.speculative / r.plain).toFixed(2)}x), accepted ${r.accepted}/${r.drafted}`,
  );
  return r;
}

// llama-server (built from the vendored tree) with the same target, threads and context, without and
// with the same speculation (`common`: flags for both): two servers, requests interleaved as in
// row(); /completion's own timings (predicted_per_second, draft_n, draft_n_accepted).
let serverBin;
async function peerRow(targetFile, specArgs, prompt, common = []) {
  serverBin ??= path.join(buildTools(["llama-server"]), "llama-server");
  const base = ["-m", targetFile, "-c", "1024", "-np", "1", "-t", String(THREADS), "--no-webui", "-lv", "0", ...common];
  const servers = [];
  try {
    const ports = [];
    for (const extra of [[], specArgs]) {
      const port = await freePort();
      servers.push(await startServer(serverBin, [...base, ...extra, "--port", String(port)], port));
      ports.push(port);
    }
    const once = async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/completion`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt, n_predict: TG, temperature: 0, cache_prompt: false }),
      });
      const body = await res.text();
      if (!res.ok) throw new Error(`llama-server /completion: HTTP ${res.status}: ${body.slice(0, 500)}`);
      const t = JSON.parse(body).timings;
      if (t.predicted_n !== TG) throw new Error(`llama-server generated ${t.predicted_n} tokens, not ${TG}`);
      return { ...t, tps: t.predicted_per_second };
    };
    const m = await interleaved(
      () => once(ports[0]),
      () => once(ports[1]),
    );
    const r = { plain: m.plain, speculative: m.speculative, drafted: m.last.draft_n ?? 0, accepted: m.last.draft_n_accepted ?? 0 };
    log(
      `  llama-server: ${r.plain.toFixed(1)} -> ${r.speculative.toFixed(1)} t/s (${(r.speculative / r.plain).toFixed(2)}x), accepted ${r.accepted}/${r.drafted}`,
    );
    return r;
  } finally {
    for (const child of servers) await stopServer(child);
  }
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
if (MODELS.has("stories260K") && fs.existsSync(stories)) {
  const m = await loadModel(stories);
  costs.push(await decodeCost(m, "stories260K"));
  rows.push(await row("stories260K", m, "ngram 12/48", { ngram: true }, STORY));
  rows.push(await row("stories260K", m, "ngram 3/8", { ngram: { sizeN: 3, sizeM: 8 } }, STORY));
  // the model drafting for itself: every draft kept, each drafted token costs a decode of the target
  rows.push(await row("stories260K", m, "draft: itself, max 3", { draft: { model: m } }, STORY));
  await m.dispose();
} else if (MODELS.has("stories260K")) log(`stories260K not found at ${stories}; skipping its rows (set LLAMA_NATIVE_TEST_MODEL)`);
if (MODELS.has("bench-134m-peaked")) {
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
if (MODELS.has("bench-134m-planted")) {
  const target = await loadModel(files.planted);
  const name = "bench-134m-planted Q8_0";
  const types = (await readGgufInfo(files.planted, { tensors: false })).metadata["tokenizer.ggml.token_type"];
  const next = successorMap(types, PLANT);
  const cycle = (n) => {
    const out = [1000];
    while (out.length < n) out.push(next[out.at(-1)]);
    return out;
  };
  costs.push(await decodeCost(target, name));
  const draft = await loadModel(files.plantedDraft);
  const cases = [
    // repetitive text: the prompt holds one full cycle, so the answer copies it
    [
      "ngram 12/48",
      { ngram: true },
      ["--spec-type", "ngram-simple", "--spec-ngram-simple-size-n", "12", "--spec-ngram-simple-size-m", "48"],
      cycle(PLANT.period + 1),
    ],
    [
      "draft: planted 64x2, max 3",
      { draft: { model: draft } },
      ["-md", files.plantedDraft, "--spec-type", "draft-simple", "--spec-draft-n-max", "3"],
      cycle(8),
    ],
    [
      "draft: planted 64x2, max 8",
      { draft: { model: draft, max: 8 } },
      ["-md", files.plantedDraft, "--spec-type", "draft-simple", "--spec-draft-n-max", "8"],
      cycle(8),
    ],
  ];
  for (const [drafter, speculative, peerArgs, prompt] of cases) {
    rows.push(await row(name, target, drafter, speculative, prompt));
    if (values["skip-peer"]) continue;
    rows.push({ name, drafter, engine: "llama-server", ...(await peerRow(files.planted, peerArgs, prompt)) });
    // With a draft model, llama-server's two thread pools (target's and draft's) both spin-wait at
    // its default --poll 50; on a machine with as many cores as threads they take turns on them.
    if (speculative.draft)
      rows.push({
        name,
        drafter,
        engine: "llama-server --poll 0",
        ...(await peerRow(files.planted, peerArgs, prompt, ["--poll", "0"])),
      });
  }
  await draft.dispose();
  await target.dispose();
}

const out = [
  `speculative decoding, greedy tg${TG}, ${THREADS} threads, median of ${RUNS} (${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores)`,
  "",
  "| model | drafter | engine | without t/s | with t/s | ratio | accepted / drafted (last run) |",
  "|---|---|---|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.drafter} | ${r.engine} | ${r.plain.toFixed(1)} | ${r.speculative.toFixed(1)} | ${(r.speculative / r.plain).toFixed(2)} | ${r.accepted} / ${r.drafted} |`,
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
