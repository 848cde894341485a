#!/usr/bin/env node
// Records what llama.cpp's own llama-mtmd-cli prints for a prompt with an image, on stories260K with
// the random-weight `mlp` projector of scripts/make-projector.mjs and the pictures of
// scripts/test-images.mjs, so that test/model/multimodal.test.ts compares llama-native with llama.cpp
// without building the tool on every run: test/fixtures/oracles/mtmd.json. Each run keeps the exact
// command (from the repository root), the prompt the CLI formatted (from its debug log), the greedy
// text and the encode time it logged; the header keeps the llama.cpp commit and every file's sha256.
//
//   node scripts/record-mtmd-oracle.mjs [MODEL]   (default ../shared/models/stories260K.gguf)
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildTools } from "./native-tools.mjs";
import { makeProjector, TINY_PROJECTOR } from "./make-projector.mjs";
import { TEST_IMAGES } from "./test-images.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const model = path.resolve(process.argv[2] ?? path.join(root, "..", "shared", "models", "stories260K.gguf"));
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const sha256 = (f) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const rel = (p) =>
  path.dirname(p).endsWith(path.join("shared", "models")) ? `../shared/models/${path.basename(p)}` : path.relative(root, p);

export const MTMD_PROMPT = "Once upon a time";
export const MTMD_TOKENS = 24;

// LLAMA_NATIVE_MTMD_CLI: a llama-mtmd-cli built another way from the same vendored tree (recorded as such)
const exe = process.env.LLAMA_NATIVE_MTMD_CLI
  ? path.resolve(process.env.LLAMA_NATIVE_MTMD_CLI)
  : path.join(buildTools(["llama-mtmd-cli"]), "llama-mtmd-cli");
const shownExe = process.env.LLAMA_NATIVE_MTMD_CLI ? path.relative(root, exe) : "vendor/tools/build/bin/llama-mtmd-cli";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-mtmd-oracle-"));
const projector = path.join(tmp, "projector.gguf");
await makeProjector({ ...TINY_PROJECTOR, out: projector });

const out = {
  about:
    "Greedy continuations of a prompt with an image first, by llama-mtmd-cli built from vendor/llama.cpp by scripts/native-tools.mjs " +
    "(recorded by scripts/record-mtmd-oracle.mjs). The projector is scripts/make-projector.mjs with TINY_PROJECTOR, the pictures " +
    "scripts/test-images.mjs; the CLI renders the prompt with llama.cpp's chatml template, `formatted` is what it logged.",
  llamaCppCommit: pin.commit,
  model: path.basename(model),
  modelSha256: sha256(model),
  projector: { ...TINY_PROJECTOR },
  projectorSha256: sha256(projector),
  recordedAt: new Date().toISOString(),
  cli: process.env.LLAMA_NATIVE_MTMD_CLI_ABOUT ?? "llama-mtmd-cli built by scripts/native-tools.mjs",
  runs: [],
};
for (const [name, make] of Object.entries(TEST_IMAGES)) {
  const image = path.join(tmp, `${name}.png`);
  fs.writeFileSync(image, make());
  const args = ["-m", model, "--mmproj", projector, "--image", image, "-p", MTMD_PROMPT, "--temp", "0", "-n", String(MTMD_TOKENS)];
  // -v: the debug log has the prompt the CLI formatted (formatted_chat.prompt) and the encode times
  const extra = ["--chat-template", "chatml", "-t", "1", "--no-warmup", "-v"];
  const r = spawnSync(exe, [...args, ...extra], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`llama-mtmd-cli exited ${r.status}: ${r.stderr.slice(-3000)}`);
  const log = r.stderr + r.stdout;
  // each log line starts with a timestamp and a level ("0.00.022.026 D "); the prompt runs to the next one
  const m = /formatted_chat\.prompt: ([\s\S]*?)\n(?=\d+\.\d+\.\d+\.\d+ [A-Z] )/.exec(log);
  const enc = /mtmd batch encoding done in (\d+(?:\.\d+)?) ms/.exec(log);
  const dec = /image decoded \(batch 1\/1\) in (\d+(?:\.\d+)?) ms/.exec(log);
  out.runs.push({
    image: name,
    imageSha256: createHash("sha256").update(make()).digest("hex"),
    command: [
      "vendor/tools/build/bin/llama-mtmd-cli",
      ...[...args, ...extra].map((a) => a.replaceAll(tmp, "$TMP").replaceAll(model, rel(model))),
    ],
    prompt: MTMD_PROMPT,
    n: MTMD_TOKENS,
    formatted: m ? m[1] : null,
    // the CLI prints a newline before the answer and one or two after it
    stdout: r.stdout,
    encodeMs: enc ? Number(enc[1]) : null,
    imageDecodeMs: dec ? Number(dec[1]) : null,
  });
  console.error(`${name}: ${JSON.stringify(r.stdout.slice(0, 80))}`);
}
fs.writeFileSync(path.join(root, "test", "fixtures", "oracles", "mtmd.json"), `${JSON.stringify(out, null, 2)}\n`);
fs.rmSync(tmp, { recursive: true, force: true });
console.error("wrote test/fixtures/oracles/mtmd.json");
