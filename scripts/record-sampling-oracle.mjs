#!/usr/bin/env node
// Records what llama-server (built from the vendored tree by scripts/native-tools.mjs) samples on
// stories260K for several sampler settings at temperature > 0 with a fixed seed, and the logprobs it
// reports (n_probs): test/fixtures/oracles/sampling.json, read by test/model/sampling.test.ts. Each
// case keeps the exact /completion request, the llama-server command line, the prompt's tokens
// (from its /tokenize) and the tokens and probabilities it answered.
//   node scripts/record-sampling-oracle.mjs [--model ../shared/models/stories260K.gguf]
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { oracleFileToWrite, simdClass } from "./simd-class.mjs";
import { buildTools, freePort, startServer, stopServer } from "./native-tools.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { model: { type: "string" } }, strict: true });
const stories = values.model ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));

const PROMPT = "Once upon a time, there was a little girl named Lily. She";
const base = { n_predict: 64, temperature: 0.9, seed: 1234 };
// llama-server's request fields; the test maps each to llama-native's options
export const CASES = {
  defaults: { ...base },
  otherSeed: { ...base, seed: 7 },
  penalties: { ...base, repeat_penalty: 1.3, frequency_penalty: 0.4, presence_penalty: 0.3, repeat_last_n: 32 },
  dry: { ...base, dry_multiplier: 0.8, dry_base: 1.75, dry_allowed_length: 2, dry_penalty_last_n: 128 },
  dryBreakers: { ...base, dry_multiplier: 1.5, dry_allowed_length: 1, dry_penalty_last_n: 64, dry_sequence_breakers: [".", " she"] },
  xtc: { ...base, temperature: 1.0, xtc_probability: 0.7, xtc_threshold: 0.1 },
  mirostat1: { ...base, mirostat: 1, mirostat_tau: 4, mirostat_eta: 0.2 },
  mirostat2: { ...base, mirostat: 2, mirostat_tau: 3, mirostat_eta: 0.1 },
  topNSigma: { ...base, top_n_sigma: 1.5, top_k: 0, top_p: 1, min_p: 0 },
  typicalMinKeep: { ...base, typical_p: 0.7, min_keep: 5, top_k: 20, top_p: 0.8 },
  mixed: {
    ...base,
    temperature: 1.2,
    top_k: 30,
    top_p: 0.9,
    min_p: 0.02,
    repeat_penalty: 1.1,
    repeat_last_n: 64,
    dry_multiplier: 0.5,
    dry_penalty_last_n: 64,
    xtc_probability: 0.3,
    xtc_threshold: 0.15,
  },
  greedyLogprobs: { n_predict: 32, temperature: 0, n_probs: 5 },
  sampledLogprobs: { ...base, n_predict: 32, n_probs: 3, repeat_penalty: 1.2 },
};

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

const bin = path.join(buildTools(["llama-server"]), "llama-server");
const port = await freePort();
const args = ["-m", stories, "--port", String(port), "-c", "512", "-np", "1", "-t", "1", "--no-webui", "-lv", "0"];
const out = {
  llamaCppCommit: pin.commit,
  model: path.basename(stories),
  modelSha256: crypto.createHash("sha256").update(fs.readFileSync(stories)).digest("hex"),
  // logprobs and sampled tokens depend on the kernels' SIMD width (scripts/simd-class.mjs)
  simd: simdClass(),
  cpu: os.cpus()[0]?.model ?? "",
  command: ["llama-server", ...args.map((a) => (a === stories ? `<${path.basename(stories)}>` : a === String(port) ? "<port>" : a))],
  prompt: PROMPT,
  promptTokens: [],
  cases: [],
};
const child = await startServer(bin, args, port);
try {
  out.promptTokens = (await post(port, "/tokenize", { content: PROMPT, add_special: true })).tokens;
  for (const [name, fields] of Object.entries(CASES)) {
    // the prompt as tokens, so that both sides start from the same ones; no prompt cache between cases
    const request = { prompt: out.promptTokens, ...fields, return_tokens: true, cache_prompt: false };
    const j = await post(port, "/completion", request);
    const entry = { name, request: fields, tokens: j.tokens, stopType: j.stop_type };
    if (fields.n_probs) {
      entry.probabilities = j.completion_probabilities.map((p) => ({
        id: p.id,
        logprob: p.logprob,
        top: p.top_logprobs.map((t) => ({ id: t.id, logprob: t.logprob })),
      }));
    }
    out.cases.push(entry);
    console.error(`${name}: ${j.tokens.length} tokens (${j.stop_type})`);
  }
} finally {
  await stopServer(child);
}
const file = oracleFileToWrite(path.join(root, "test", "fixtures", "oracles"), "sampling");
fs.writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
console.error(`wrote ${path.relative(process.cwd(), file)} (${out.cases.length} cases)`);
