#!/usr/bin/env node
// Records what llama-server (built from the vendored tree by scripts/native-tools.mjs) generates on
// stories260K with speculative decoding: greedy /completion with a draft model (stories260K itself,
// and the random-weight model of its vocabulary that test/model/speculative.test.ts writes, same
// parameters, so the same bytes) and with n-gram lookup. test/fixtures/oracles/speculative.json,
// read by test/model/speculative.test.ts (per SIMD class: speculative.<class>.json for a class other
// than the one speculative.json holds). Each case keeps the llama-server command line, the
// prompt's tokens (from its /tokenize), the tokens it answered and its draft_n / draft_n_accepted.
//   node scripts/record-speculative-oracle.mjs [--model ../shared/models/stories260K.gguf]
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeRandomLlama } from "./make-model.mjs";
import { buildTools, freePort, startServer, stopServer } from "./native-tools.mjs";
import { oracleFileToWrite, simdClass } from "./simd-class.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { model: { type: "string" } }, strict: true });
const stories = values.model ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

// Shared with the test (it writes the same random draft model from these parameters).
export const RANDOM_DRAFT = { embd: 32, layers: 1, heads: 2, headsKv: 1, ff: 64, ctx: 512, seed: 3 };
export const PROMPTS = ["Once upon a time", "Lily went to the park", "The little dog"];
export const REPETITIVE = "Tom had a red ball. Tom had a red ball. Tom had a red ball. Tom had a red ball. Tom had a red ball. Tom had a";

async function post(port, route, body) {
  const r = await fetch(`http://127.0.0.1:${port}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${route}: HTTP ${r.status}: ${JSON.stringify(j)}`);
  return j;
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const bin = path.join(buildTools(["llama-server"]), "llama-server");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "record-spec-"));
  const randomDraft = path.join(tmp, "random-stories-vocab.gguf");
  await makeRandomLlama({ out: randomDraft, vocab: stories, ...RANDOM_DRAFT });
  const configs = [
    { name: "draftSelf", spec: ["-md", stories, "--spec-type", "draft-simple", "--spec-draft-n-max", "3"], prompts: PROMPTS, n: 80 },
    {
      name: "draftRandom",
      spec: ["-md", randomDraft, "--spec-type", "draft-simple", "--spec-draft-n-max", "4"],
      prompts: PROMPTS,
      n: 64,
    },
    {
      name: "ngram",
      spec: ["--spec-type", "ngram-simple", "--spec-ngram-simple-size-n", "3", "--spec-ngram-simple-size-m", "8"],
      prompts: [REPETITIVE],
      n: 96,
    },
  ];
  const out = {
    simd: simdClass(),
    llamaCppCommit: pin.commit,
    model: path.basename(stories),
    modelSha256: sha256(stories),
    randomDraft: { parameters: RANDOM_DRAFT, sha256: sha256(randomDraft) },
    configs: [],
  };
  try {
    for (const c of configs) {
      const port = await freePort();
      const args = ["-m", stories, ...c.spec, "--port", String(port), "-c", "512", "-np", "1", "-t", "1", "--no-webui", "-lv", "0"];
      const shown = args.map((a) =>
        a === stories
          ? `<${path.basename(stories)}>`
          : a === randomDraft
            ? "<random-stories-vocab.gguf>"
            : a === String(port)
              ? "<port>"
              : a,
      );
      const entry = { name: c.name, command: ["llama-server", ...shown], cases: [] };
      const child = await startServer(bin, args, port);
      try {
        for (const prompt of c.prompts) {
          const promptTokens = (await post(port, "/tokenize", { content: prompt, add_special: true })).tokens;
          const request = { prompt: promptTokens, n_predict: c.n, temperature: 0, return_tokens: true, cache_prompt: false };
          const j = await post(port, "/completion", request);
          entry.cases.push({
            prompt,
            promptTokens,
            request: { n_predict: c.n, temperature: 0 },
            tokens: j.tokens,
            stopType: j.stop_type,
            draftN: j.timings?.draft_n ?? 0,
            draftNAccepted: j.timings?.draft_n_accepted ?? 0,
          });
          console.error(
            `${c.name} ${JSON.stringify(prompt.slice(0, 20))}: ${j.tokens.length} tokens, drafts ${j.timings?.draft_n_accepted}/${j.timings?.draft_n}`,
          );
        }
      } finally {
        await stopServer(child);
      }
      out.configs.push(entry);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // a near-tie can go the other way with the kernels' SIMD width (scripts/simd-class.mjs)
  const file = oracleFileToWrite(path.join(root, "test", "fixtures", "oracles"), "speculative");
  fs.writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  console.error(`wrote ${path.relative(process.cwd(), file)}`);
}
