#!/usr/bin/env node
// npm run bench -- --only rpc   (or node bench/rpc.mjs [--model FILE] [--runs 3] [--pp 512] [--tg 128]
//                                 [--threads N] [--write])
// Tokens/s of one model loaded locally against the same model split over two `llama-native
// rpc-server` workers on 127.0.0.1 (plus the local CPU for the layers gpuLayers leaves): prompt
// processing (one --pp token prompt) and generation (--tg tokens, greedy). Medians of --runs; each
// configuration loads once per run. Loopback shows the cost of ggml's RPC protocol (serialization,
// one blocking round trip per worker per token), not of a network: docs/rpc.md says what a real
// network adds. --write puts the table into bench/RESULTS.md.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeRandomLlama } from "../scripts/make-model.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    runs: { type: "string", default: "3" },
    pp: { type: "string", default: "512" },
    tg: { type: "string", default: "128" },
    threads: { type: "string" },
    write: { type: "boolean", default: false },
  },
  strict: true,
});
const int = (name) => {
  const s = values[name];
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new Error(`--${name} must be a positive integer; got ${s}`);
  return Number(s);
};
const RUNS = int("runs");
const PP = int("pp");
const TG = int("tg");
const THREADS = values.threads ? int("threads") : Math.max(1, Math.floor(os.availableParallelism() / 2));
const log = (...a) => console.error("[bench rpc]", ...a);
const { loadModel } = await import(path.join(root, "dist", "index.mjs"));

async function benchModel() {
  if (values.model) return path.resolve(values.model);
  // the ~100M-parameter random model of test/model/rpc.test.ts (32000 x 640 embeddings, 10 layers)
  const file = path.join(root, "test", "fixtures", "generated", "rpc-random-100m-q8_0.gguf");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    log("writing", path.relative(root, file));
    await makeRandomLlama({
      embd: 640,
      layers: 10,
      heads: 10,
      headsKv: 5,
      ff: 1792,
      ctx: 1024,
      seed: 12,
      outputSigma: 1,
      type: "q8_0",
      out: file,
    });
  }
  return file;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startWorker(threads) {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [path.join(root, "bin", "llama-native.mjs"), "rpc-server", "--port", String(port), "--threads", String(threads)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  for (const t0 = Date.now(); !out.includes("transport"); ) {
    if (proc.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`rpc-server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200));
  return { proc, endpoint: `127.0.0.1:${port}`, output: () => out };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One load: pp tokens/s over a PP-token prompt, then tg tokens/s over TG greedy tokens. */
async function measure(file, loadOptions) {
  const model = await loadModel(file, loadOptions);
  try {
    const ctx = await model.createContext({ contextSize: PP + TG + 16, batchSize: PP, threads: THREADS });
    // a prompt of exactly PP tokens: token ids from the vocabulary's middle, no BOS games
    const prompt = Int32Array.from({ length: PP }, (_, i) => 1000 + (i % 5000));
    const r = await ctx.complete(prompt, { temperature: 0, maxTokens: TG, stop: [] });
    await ctx.dispose();
    return {
      pp: (r.timings.evaluatedPromptTokens / r.timings.promptMs) * 1000,
      tg: (r.timings.generatedTokens / r.timings.generateMs) * 1000,
    };
  } finally {
    await model.dispose();
  }
}

const file = await benchModel();
const probe = await loadModel(file);
const layers = probe.info.layers;
const nParams = probe.info.nParams;
await probe.dispose();
const workers = [await startWorker(THREADS), await startWorker(THREADS)];
const configs = [
  { name: "local", options: {} },
  { name: "2 loopback workers (all layers)", options: { rpcServers: workers.map((w) => w.endpoint) } },
  {
    name: `2 loopback workers + local (${Math.ceil(layers / 2)} of ${layers} layers offloaded)`,
    options: { rpcServers: workers.map((w) => w.endpoint), gpuLayers: Math.ceil(layers / 2) },
  },
];
const results = new Map(configs.map((c) => [c.name, { pp: [], tg: [] }]));
try {
  for (let run = 0; run < RUNS; run++) {
    for (const c of configs) {
      const m = await measure(file, c.options);
      results.get(c.name).pp.push(m.pp);
      results.get(c.name).tg.push(m.tg);
      log(`run ${run + 1}/${RUNS} ${c.name}: pp ${m.pp.toFixed(1)} tg ${m.tg.toFixed(1)} tokens/s`);
    }
  }
} finally {
  for (const w of workers) w.proc.kill("SIGKILL");
}

const local = results.get("local");
const lines = [
  `Model: ${path.basename(file)} (${(nParams / 1e6).toFixed(0)}M parameters, ${layers} layers); ${os.cpus()[0]?.model.trim()}, ${os.cpus().length} cores, ${THREADS} threads here and per worker; medians of ${RUNS} runs; pp${PP}, tg${TG}; measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC (\`npm run bench -- --only rpc --write\`).`,
  "",
  "| configuration | pp tokens/s | vs local | tg tokens/s | vs local |",
  "|---|---:|---:|---:|---:|",
  ...configs.map((c) => {
    const r = results.get(c.name);
    const pp = median(r.pp);
    const tg = median(r.tg);
    return `| ${c.name} | ${pp.toFixed(1)} | ${((pp / median(local.pp)) * 100).toFixed(0)} % | ${tg.toFixed(1)} | ${((tg / median(local.tg)) * 100).toFixed(0)} % |`;
  }),
  "",
  "Loopback: every RPC message crosses the kernel's TCP stack but no wire. Per generated token, ggml's",
  "RPC client (ggml-rpc.cpp at the vendored revision) sends each worker its inputs (SET_TENSOR) and the",
  "graph (GRAPH_RECOMPUTE when the worker already holds it, else GRAPH_COMPUTE), both one-way, then",
  "waits for its output (GET_TENSOR): one blocking round trip per worker per token, one worker after",
  "the other, because the activations pass through this process between them. On a network each round",
  "trip adds its latency (docs/rpc.md). The workers here also share this machine's two cores with the",
  'client, so "+ local" is three processes taking turns on them.',
];
console.log(lines.join("\n"));
if (values.write) {
  const out = path.join(here, "RESULTS.md");
  const begin = "<!-- rpc:begin -->";
  const end = "<!-- rpc:end -->";
  let text = fs.readFileSync(out, "utf8");
  const block = `${begin}\n## RPC (two loopback workers)\n\n${lines.join("\n")}\n${end}`;
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(out, text);
  log("wrote the RPC section of bench/RESULTS.md");
}
process.exit(0);
