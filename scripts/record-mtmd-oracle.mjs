#!/usr/bin/env node
// Records what llama.cpp's own llama-mtmd-cli prints for a prompt with an image, on stories260K with
// the random-weight `mlp` projector of scripts/make-projector.mjs and the pictures of
// scripts/test-images.mjs, so that test/model/multimodal.test.ts compares llama-native with llama.cpp
// without building the tool on every run: test/fixtures/oracles/mtmd.json. Each run keeps the exact
// command (from the repository root), the prompt the CLI formatted (from its debug log), the greedy
// text and the encode time it logged; the header keeps the llama.cpp commit and every file's sha256.
//
//   node scripts/record-mtmd-oracle.mjs [MODEL] [--link-addon]   (default ../shared/models/stories260K.gguf)
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
const model = path.resolve(
  process.argv.slice(2).find((a) => !a.startsWith("--")) ?? path.join(root, "..", "shared", "models", "stories260K.gguf"),
);
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const sha256 = (f) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const rel = (p) =>
  path.dirname(p).endsWith(path.join("shared", "models")) ? `../shared/models/${path.basename(p)}` : path.relative(root, p);

export const MTMD_PROMPT = "Once upon a time";
export const MTMD_TOKENS = 24;

// --link-addon: instead of scripts/native-tools.mjs's full tools build (about 300 compile steps), build
// llama-mtmd-cli from mtmd-cli.cpp and the common/ sources the addon does not compile, linked against
// the addon's own static llama.cpp libraries in build/ (npm run build:native first): a few minutes.
// LLAMA_NATIVE_MTMD_CLI: use a llama-mtmd-cli built some other way. Either is recorded in `cli`.
function buildCliAgainstAddon() {
  const L = path.join(root, "vendor", "llama.cpp");
  const B = path.join(root, "build");
  const dir = path.join(root, "vendor", "tools", "mtmd-cli");
  fs.mkdirSync(dir, { recursive: true });
  const srcs = [
    "common/arg.cpp",
    "common/console.cpp",
    "common/debug.cpp",
    "common/download.cpp",
    "common/hf-cache.cpp",
    "common/imatrix-loader.cpp",
    "common/llguidance.cpp",
    "common/preset.cpp",
    "vendor/cpp-httplib/httplib.cpp",
    "tools/mtmd/mtmd-cli.cpp",
  ];
  const flags = `-std=c++17 -O2 -march=native -DNDEBUG -pthread -DLLAMA_SUBPROCESS ${["common", "include", "ggml/include", "vendor", "tools/mtmd", "vendor/cpp-httplib"].map((d) => `-I${L}/${d}`).join(" ")}`;
  const libs = [
    "libllama_native_mtmd.a",
    "libllama_native_common.a",
    "llama.cpp/src/libllama.a",
    "llama.cpp/ggml/src/libggml.a",
    "llama.cpp/ggml/src/ggml-rpc/libggml-rpc.a",
    "llama.cpp/ggml/src/libggml-cpu.a",
    "llama.cpp/ggml/src/libggml-base.a",
    "llama.cpp/vendor/hash/libvendor-hash.a",
  ].map((l) => path.join(B, l));
  const objs = srcs.map((s) => path.join(dir, `${path.basename(s, ".cpp")}.o`));
  let mk = `llama-mtmd-cli: ${objs.join(" ")}\n\tccache g++ -o $@ $^ ${libs.join(" ")} -pthread -ldl -lm\n`;
  for (const [i, s] of srcs.entries()) mk += `${objs[i]}: ${L}/${s}\n\tccache g++ ${flags} -c $< -o $@\n`;
  fs.writeFileSync(path.join(dir, "Makefile"), mk);
  const r = spawnSync("make", ["-C", dir, "-j", String(os.availableParallelism())], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("building llama-mtmd-cli against the addon's libraries failed");
  return path.join(dir, "llama-mtmd-cli");
}
const linkAddon = process.argv.includes("--link-addon");
const exe = process.env.LLAMA_NATIVE_MTMD_CLI
  ? path.resolve(process.env.LLAMA_NATIVE_MTMD_CLI)
  : linkAddon
    ? buildCliAgainstAddon()
    : path.join(buildTools(["llama-mtmd-cli"]), "llama-mtmd-cli");
const shownExe = path.relative(root, exe);
const CLI_ABOUT =
  process.env.LLAMA_NATIVE_MTMD_CLI_ABOUT ??
  (linkAddon
    ? "llama-mtmd-cli built by scripts/record-mtmd-oracle.mjs --link-addon: tools/mtmd/mtmd-cli.cpp and the common/ sources the addon does not compile (g++ -O2 -march=native), linked against the addon's static llama.cpp libraries in build/ (libllama, ggml, libllama_native_mtmd, libllama_native_common)"
    : "llama-mtmd-cli built by scripts/native-tools.mjs");
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
  cli: CLI_ABOUT,
  runs: [],
};
for (const [name, make] of Object.entries(TEST_IMAGES)) {
  const image = path.join(tmp, `${name}.png`);
  fs.writeFileSync(image, make());
  const args = ["-m", model, "--mmproj", projector, "--image", image, "-p", MTMD_PROMPT, "--temp", "0", "-n", String(MTMD_TOKENS)];
  // -v: the debug log has the prompt the CLI formatted (formatted_chat.prompt) and the encode times
  const extra = ["--chat-template", "chatml", "-t", "1", "--no-warmup", "-v"];
  // The CLI writes through common/'s asynchronous logger, which sometimes exits before it has written
  // everything (../shared/FACTS.md): run again until the answer ends with the CLI's closing newlines
  // and the log has the performance lines it prints last.
  let r;
  for (let attempt = 1; ; attempt++) {
    r = spawnSync(exe, [...args, ...extra], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`llama-mtmd-cli exited ${r.status}: ${r.stderr.slice(-3000)}`);
    if (r.stdout.endsWith("\n\n") && r.stderr.includes("llama_perf_context_print")) break;
    if (attempt === 20) throw new Error(`llama-mtmd-cli never printed its whole output in 20 runs (${name})`);
  }
  const log = r.stderr + r.stdout;
  // each log line starts with a timestamp and a level ("0.00.022.026 D "); the prompt runs to the next one
  const m = /formatted_chat\.prompt: ([\s\S]*?)\n(?=\d+\.\d+\.\d+\.\d+ [A-Z] )/.exec(log);
  const enc = /mtmd batch encoding done in (\d+(?:\.\d+)?) ms/.exec(log);
  const dec = /image decoded \(batch 1\/1\) in (\d+(?:\.\d+)?) ms/.exec(log);
  out.runs.push({
    image: name,
    imageSha256: createHash("sha256").update(make()).digest("hex"),
    command: [shownExe, ...[...args, ...extra].map((a) => a.replaceAll(tmp, "$TMP").replaceAll(model, rel(model)))],
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
