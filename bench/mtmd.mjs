#!/usr/bin/env node
// node bench/mtmd.mjs [--runs 5] [--threads 1] [--cli PATH]
// Image prompt time of llama-native against llama.cpp's llama-mtmd-cli on the same files: stories260K
// with a random-weight LLaVA `mlp` projector of ViT-Tiny's shape (224 × 224 pictures in 14 × 14
// patches: 256 image tokens, 4 layers of 192, written by scripts/make-projector.mjs) and a 224 × 224
// gradient picture, one user turn rendered with ChatML, greedy, 1 token generated.
//   llama-mtmd-cli: its own log, "mtmd batch encoding done in E ms" (the projector) plus llama_perf's
//   "prompt eval time" (every llama_decode of the prompt: text and the picture's embeddings).
//   llama-native: GenerationResult.timings.promptMs (the same work, from the start of the prompt to
//   its last decode), with the picture's bytes already tokenized; and the tokenize step itself
//   (PNG decode + the projector's preprocessing) beside it.
// Each run is a fresh process on both sides (the first encode allocates the projector's graph).
// Medians; the CLI path is --cli, else LLAMA_NATIVE_MTMD_CLI, else vendor/tools/build/bin/llama-mtmd-cli.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeProjector } from "../scripts/make-projector.mjs";
import { encodePng } from "../scripts/test-images.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    threads: { type: "string", default: "1" },
    cli: { type: "string" },
    model: { type: "string" },
  },
  strict: true,
});
const RUNS = Number(values.runs);
const THREADS = Number(values.threads);
const model = values.model ?? path.join(root, "..", "shared", "models", "stories260K.gguf");
const cli = values.cli ?? process.env.LLAMA_NATIVE_MTMD_CLI ?? path.join(root, "vendor", "tools", "build", "bin", "llama-mtmd-cli");
if (!fs.existsSync(cli))
  throw new Error(`llama-mtmd-cli not found at ${cli} (node scripts/native-tools.mjs llama-mtmd-cli, or --cli PATH)`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-bench-mtmd-"));
const projector = path.join(tmp, "vit-tiny-mlp.gguf");
await makeProjector({ out: projector, outEmbd: 64, imageSize: 224, patch: 14, embd: 192, layers: 4, heads: 3, ff: 768, seed: 5 });
const image = path.join(tmp, "gradient.png");
fs.writeFileSync(
  image,
  encodePng(224, 224, (x, y) => [x, y, (x * y) & 255]),
);
const PROMPT = "Once upon a time";
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

// The CLI logs through common/'s asynchronous logger, which sometimes exits before it has written
// everything (../shared/FACTS.md): a run whose log lacks the timings is run again.
function cliRun() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = spawnSync(
      cli,
      [
        "-m",
        model,
        "--mmproj",
        projector,
        "--image",
        image,
        "-p",
        PROMPT,
        "--temp",
        "0",
        "-n",
        "2",
        "-c",
        "512",
        "--chat-template",
        "chatml",
        "-t",
        String(THREADS),
        "-v", // (the log is complete with -v; without it the asynchronous logger loses its end)
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`llama-mtmd-cli exited ${r.status}: ${r.stderr.slice(-2000)}`);
    const enc = /mtmd batch encoding done in (\d+(?:\.\d+)?) ms/.exec(r.stderr);
    const pp = /prompt eval time =\s+(\d+(?:\.\d+)?) ms/.exec(r.stderr);
    const img = /image decoded \(batch 1\/1\) in (\d+(?:\.\d+)?) ms/.exec(r.stderr);
    if (enc && pp && img)
      return { encode: Number(enc[1]), image: Number(img[1]), decode: Number(pp[1]), total: Number(enc[1]) + Number(pp[1]) };
  }
  throw new Error("llama-mtmd-cli never logged its timings in 20 runs");
}
const cliRuns = [];
for (let i = 0; i < RUNS; i++) cliRuns.push(cliRun());

const job = `
const ln = require(${JSON.stringify(path.join(root, "dist", "index.js"))});
const fs = require("node:fs");
(async () => {
  const m = await ln.loadModel(${JSON.stringify(model)});
  await m.loadProjector(${JSON.stringify(projector)}, { threads: ${THREADS} });
  const ctx = await m.createContext({ contextSize: 512, threads: ${THREADS} });
  const prompt = "<|im_start|>user\\n" + ln.MEDIA_MARKER + ${JSON.stringify(PROMPT)} + "<|im_end|>\\n<|im_start|>assistant\\n";
  const data = new Uint8Array(fs.readFileSync(${JSON.stringify(image)}));
  const r = await ctx.complete(prompt, { media: [{ type: "image", data }], maxTokens: 1, temperature: 0 });
  console.log(JSON.stringify({ promptMs: r.timings.promptMs, tokens: r.timings.promptTokens }));
  await m.dispose();
})();`;
const ours = [];
for (let i = 0; i < RUNS; i++) {
  const r = spawnSync(process.execPath, ["-e", job], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`llama-native job failed: ${r.stderr.slice(-2000)}`);
  ours.push(JSON.parse(r.stdout.trim().split("\n").at(-1)));
}
fs.rmSync(tmp, { recursive: true, force: true });
const cliTotal = median(cliRuns.map((r) => r.total));
const ourTotal = median(ours.map((r) => r.promptMs));
console.log(`| ${RUNS} runs, ${THREADS} thread(s), ${ours[0].tokens}-token prompt (256 image tokens) | median ms |`);
console.log("|---|---|");
console.log(`| llama-mtmd-cli: projector encode | ${median(cliRuns.map((r) => r.encode)).toFixed(1)} |`);
console.log(
  `| llama-mtmd-cli: the picture's embeddings decoded ("image decoded in") | ${median(cliRuns.map((r) => r.image)).toFixed(1)} |`,
);
console.log(`| llama-mtmd-cli: llama_perf prompt eval time (every prompt decode) | ${median(cliRuns.map((r) => r.decode)).toFixed(1)} |`);
console.log(`| llama-mtmd-cli: encode + prompt eval | ${cliTotal.toFixed(1)} |`);
console.log(
  `| llama-native: promptMs (encode + decode) | ${ourTotal.toFixed(1)} (${((ourTotal / cliTotal) * 100).toFixed(0)} % of the CLI's) |`,
);
