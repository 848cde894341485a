#!/usr/bin/env node
// Records what llama.cpp's own tools print for the real model, so the test suite can compare
// llama-native against llama.cpp without rebuilding the tools on every run. Each record keeps the
// exact command (tool, arguments), the llama.cpp commit and the model's sha256.
//
//   node scripts/record-oracles.mjs [MODEL]   (default ../shared/models/stories260K.gguf)
// Writes test/fixtures/oracles/<model>.json.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildTools } from "./native-tools.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const model = path.resolve(process.argv[2] ?? path.join(root, "..", "shared", "models", "stories260K.gguf"));
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));

export const GENERATION_PROMPTS = [
  { prompt: "Once upon a time", n: 64 },
  { prompt: "Lily and Tom went to the park", n: 48 },
  { prompt: "The little dog was sad because", n: 48 },
  { prompt: "One day, a boy named Tim found a big box. He", n: 200 },
];
export const EMBEDDING_TEXTS = ["Once upon a time", "The cat sat on the mat.", "Lily loved to play outside in the park with her red ball."];
export const EMBEDDING_POOLINGS = ["mean", "last"];

function tool(bin, name, args, { parseJson = false, tries = 1 } = {}) {
  const exe = path.join(bin, name);
  for (let attempt = 1; attempt <= tries; attempt++) {
    const r = spawnSync(exe, args, { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${name} ${args.join(" ")} exited ${r.status}: ${r.stderr.slice(-2000)}`);
    if (!parseJson) return r.stdout;
    // llama-embedding's JSON goes through an asynchronous logger that sometimes exits before it
    // has flushed (see ../shared/FACTS.md): retry until the output parses.
    const start = r.stdout.indexOf("{");
    try {
      return JSON.parse(r.stdout.slice(start));
    } catch {
      if (attempt === tries) throw new Error(`${name} never printed complete JSON in ${tries} tries`);
    }
  }
}

const rel = (p) => path.relative(root, p);
const bin = buildTools(["llama-simple", "llama-embedding"]);
const sha256 = createHash("sha256").update(fs.readFileSync(model)).digest("hex");
const out = {
  about:
    "Outputs of llama.cpp's own tools on this model, recorded by scripts/record-oracles.mjs. " +
    "The tools were built from vendor/llama.cpp (the pinned commit) by scripts/native-tools.mjs; " +
    "each entry's `command` is what ran, from the repository root.",
  llamaCppCommit: pin.commit,
  model: path.basename(model),
  modelSha256: sha256,
  recordedAt: new Date().toISOString(),
  generation: [],
  embeddings: [],
};

for (const { prompt, n } of GENERATION_PROMPTS) {
  const args = ["-m", model, "-n", String(n), prompt];
  const stdout = tool(bin, "llama-simple", args);
  out.generation.push({ command: ["vendor/tools/build/bin/llama-simple", "-m", rel(model), "-n", String(n), prompt], prompt, n, stdout });
  console.error(`llama-simple "${prompt}" -n ${n}: ${JSON.stringify(stdout.slice(0, 60))}…`);
}

for (const pooling of EMBEDDING_POOLINGS) {
  for (const text of EMBEDDING_TEXTS) {
    const args = ["-m", model, "--pooling", pooling, "--embd-normalize", "2", "--embd-output-format", "json", "-p", text];
    const json = tool(bin, "llama-embedding", args, { parseJson: true, tries: 20 });
    const embedding = json.data[0].embedding;
    out.embeddings.push({
      command: ["vendor/tools/build/bin/llama-embedding", ...args.map((a) => (a === model ? rel(model) : a))],
      text,
      pooling,
      embedding,
    });
    console.error(`llama-embedding --pooling ${pooling} "${text}": ${embedding.length} floats`);
  }
}

const dest = path.join(root, "test", "fixtures", "oracles", `${path.basename(model, ".gguf")}.json`);
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.writeFileSync(dest, JSON.stringify(out, null, 1) + "\n");
console.error(`wrote ${rel(dest)}`);
