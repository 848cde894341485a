#!/usr/bin/env node
// Records what llama.cpp's own llama-completion prints for the features of issue 11 on the real
// model, so the tests compare llama-native with llama.cpp without rebuilding the tool each run:
//   test/fixtures/oracles/lora.json           greedy text with the trained LoRA at several scales (--lora-scaled)
//   test/fixtures/oracles/context-shift.json  greedy text of 400 tokens in a 128-token context (--context-shift --keep)
// Each record keeps the exact command (from the repository root), the llama.cpp commit and the files' sha256.
//
//   node scripts/record-feature-oracles.mjs [MODEL] [LORA]
//   (default ../shared/models/stories260K.gguf and ../shared/models/stories260K-lora-spark-r4.gguf)
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildTools } from "./native-tools.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const models = path.join(root, "..", "shared", "models");
const model = path.resolve(process.argv[2] ?? path.join(models, "stories260K.gguf"));
const lora = path.resolve(process.argv[3] ?? path.join(models, "stories260K-lora-spark-r4.gguf"));
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const sha256 = (f) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
// the models directory beside the checkout is written as ../shared/models (where it is in the main checkout)
const rel = (p) =>
  path.dirname(p).endsWith(path.join("shared", "models")) ? `../shared/models/${path.basename(p)}` : path.relative(root, p);

export const LORA_PROMPT = "Once upon a time";
export const LORA_SCALES = [0, 0.5, 1];
export const LORA_TOKENS = 64;
export const SHIFT_PROMPT = "Once upon a time";
export const SHIFT_CONTEXT = 128;
export const SHIFT_TOKENS = 400;
export const SHIFT_KEEPS = [0, 2, -1];

const bin = buildTools(["llama-completion"]);
const exe = path.join(bin, "llama-completion");
// greedy (--temp 0), one thread, no chat template, only the generated text on stdout
const COMMON = ["--temp", "0", "-t", "1", "-no-cnv", "--no-display-prompt", "--simple-io", "--no-warmup"];

// llama-completion ends its output with "\n\n" (after " [end of text]\n" when the model ended it). Its
// output goes through an asynchronous logger that sometimes exits before flushing (../shared/FACTS.md):
// run again until the output is complete.
function completion(args) {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const r = spawnSync(exe, args, { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`llama-completion ${args.join(" ")} exited ${r.status}: ${r.stderr.slice(-2000)}`);
    if (r.stdout.endsWith("\n\n")) return r.stdout;
  }
  throw new Error(`llama-completion ${args.join(" ")} never printed its whole output in 20 runs`);
}
const shown = (args) => [
  "vendor/tools/build/bin/llama-completion",
  ...args.map((a) => a.replaceAll(model, rel(model)).replaceAll(lora, rel(lora))),
];
const header = (what) => ({
  about: `${what} Recorded by scripts/record-feature-oracles.mjs with llama-completion built from vendor/llama.cpp by scripts/native-tools.mjs; each entry's command is what ran, from the repository root.`,
  llamaCppCommit: pin.commit,
  model: path.basename(model),
  modelSha256: sha256(model),
  recordedAt: new Date().toISOString(),
});

const loraOut = {
  ...header("Greedy continuations with a LoRA adapter at several scales."),
  lora: path.basename(lora),
  loraSha256: sha256(lora),
  runs: [],
};
for (const scale of LORA_SCALES) {
  const args = ["-m", model, "--lora-scaled", `${lora}:${scale}`, "-p", LORA_PROMPT, "-n", String(LORA_TOKENS), ...COMMON];
  const stdout = completion(args);
  loraOut.runs.push({ command: shown(args), prompt: LORA_PROMPT, scale, n: LORA_TOKENS, stdout });
  console.error(`lora scale ${scale}: ${JSON.stringify(stdout.slice(0, 70))}…`);
}

const shiftOut = { ...header("Greedy generation past the context with context shift."), runs: [] };
for (const keep of SHIFT_KEEPS) {
  const args = [
    "-m",
    model,
    "-c",
    String(SHIFT_CONTEXT),
    "--context-shift",
    "--keep",
    String(keep),
    "--ignore-eos",
    "-p",
    SHIFT_PROMPT,
    "-n",
    String(SHIFT_TOKENS),
    ...COMMON,
  ];
  const stdout = completion(args);
  shiftOut.runs.push({ command: shown(args), prompt: SHIFT_PROMPT, contextSize: SHIFT_CONTEXT, keep, n: SHIFT_TOKENS, stdout });
  console.error(`context shift keep ${keep}: …${JSON.stringify(stdout.slice(-70))}`);
}

const dir = path.join(root, "test", "fixtures", "oracles");
fs.writeFileSync(path.join(dir, "lora.json"), JSON.stringify(loraOut, null, 1) + "\n");
fs.writeFileSync(path.join(dir, "context-shift.json"), JSON.stringify(shiftOut, null, 1) + "\n");
