#!/usr/bin/env node
// llama-native command line.
//   llama-native build [--gpu cpu|cuda|metal|vulkan] [--cuda-arch 90] [--debug]
//   llama-native info [MODEL.gguf]
//   llama-native generate MODEL.gguf "prompt" [--max-tokens N] [--temperature T] [--threads N]
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const [cmd, ...args] = process.argv.slice(2);

function usage(code) {
  console.error(`usage:
  llama-native build [--gpu cpu|cuda|metal|vulkan] [--cuda-arch 90] [--debug]
      build the addon from the vendored llama.cpp source (needs cmake >= 3.19 and a C++17 compiler;
      LLAMA_NATIVE_GPU=<backend> works too)
  llama-native info [MODEL.gguf]
      what the loaded addon was built with; with a model, its GGUF header
  llama-native generate MODEL.gguf PROMPT [--max-tokens N] [--temperature T] [--threads N]
      stream a completion to stdout`);
  process.exit(code);
}

function flag(name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

if (!cmd || cmd === "-h" || cmd === "--help") usage(cmd ? 0 : 2);

if (cmd === "build") {
  const r = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs"), ...args], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const ln = require(path.join(root, "dist", "index.js"));

if (cmd === "info") {
  const si = ln.systemInfo();
  console.log(JSON.stringify({ backend: si.gpu, devices: si.devices, cpu: si.llamaCppSystemInfo }, null, 2));
  if (args[0]) {
    const info = await ln.readGgufInfo(args[0]);
    const meta = Object.fromEntries(
      Object.entries(info.metadata).map(([k, v]) => [k, Array.isArray(v) && v.length > 16 ? `[${v.length} items]` : v]),
    );
    console.log(JSON.stringify({ version: info.version, tensors: info.tensors.length, metadata: meta }, (_, v) => (typeof v === "bigint" ? String(v) : v), 2));
  }
} else if (cmd === "generate") {
  const maxTokens = Number(flag("--max-tokens", "128"));
  const temperature = Number(flag("--temperature", "0.8"));
  const threads = flag("--threads");
  const [modelPath, prompt] = args;
  if (!modelPath || prompt === undefined) usage(2);
  const model = await ln.loadModel(modelPath);
  const ctx = await model.createContext(threads ? { threads: Number(threads) } : {});
  const ac = new AbortController();
  process.once("SIGINT", () => ac.abort());
  const it = ctx.generate(prompt, { maxTokens, temperature, signal: ac.signal });
  let r = await it.next();
  while (!r.done) {
    process.stdout.write(r.value.text);
    r = await it.next();
  }
  const t = r.value.timings;
  console.error(`\n[${t.generatedTokens} tokens, ${((t.generatedTokens / t.generateMs) * 1000).toFixed(1)} tokens/s, stop: ${r.value.stopReason}]`);
  await model.dispose();
} else {
  usage(2);
}
