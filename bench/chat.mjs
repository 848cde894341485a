#!/usr/bin/env node
// node bench/chat.mjs [--model FILE] [--runs 9] [--tokens 128] [--template Qwen-Qwen2.5-7B-Instruct]
// The chat layer's cost: one chat turn (ctx.chat: the model's template, llama.cpp's chat sampler
// settings and the streaming parser) beside plain ctx.generate() of the same rendered prompt, on the
// same context, alternating A/B in one process so both see the same machine. Greedy, end-of-generation
// banned, --tokens tokens each; timed from the first chunk to the last. Prints the median tokens/s of
// each and their ratio. The model defaults to bench-134m Q4_0 (written by `npm run bench`) with the
// template added to its metadata (scripts/make-chat-model.mjs), else stories260K.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadModel } from "../dist/index.mjs";
import { makeChatModel } from "../scripts/make-chat-model.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    runs: { type: "string", default: "9" },
    tokens: { type: "string", default: "128" },
    template: { type: "string", default: "Qwen-Qwen2.5-7B-Instruct" },
  },
  strict: true,
});
const RUNS = Number(values.runs);
const TOKENS = Number(values.tokens);
const bench134 = path.join(root, "bench", ".cache", "bench-134m-q4_0.gguf");
const stories = path.resolve(root, "..", "shared", "models", "stories260K.gguf");
const src = values.model ?? (fs.existsSync(bench134) ? bench134 : stories);
const file = path.join(os.tmpdir(), `llama-native-bench-chat-${process.pid}.gguf`);
await makeChatModel(
  src,
  fs.readFileSync(path.join(root, "vendor", "llama.cpp", "models", "templates", `${values.template}.jinja`), "utf8"),
  file,
);
const model = await loadModel(file);
fs.rmSync(file);
const ctx = await model.createContext({ contextSize: 1024 });
const messages = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Tell me a long story about a cat who learns to sail." },
];
const ban = { logitBias: { [model.vocab.eos ?? 2]: -Infinity }, temperature: 0, maxTokens: TOKENS };
const { prompt } = await model.applyChatTemplate(messages);
const promptTokens = model.tokenize(prompt, { parseSpecial: true });

async function timed(it) {
  let n = 0;
  let t0 = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    if (n === 0) t0 = performance.now();
    n += r.value.tokens.length;
  }
  return { tokens: n - 1, ms: performance.now() - t0 };
}
const rate = (x) => (x.tokens / x.ms) * 1000;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const gen = [];
const chat = [];
await timed(ctx.generate(promptTokens, ban)); // warm-up
for (let i = 0; i < RUNS; i++) {
  await ctx.clearCache();
  gen.push(rate(await timed(ctx.generate(promptTokens, ban))));
  await ctx.clearCache();
  chat.push(rate(await timed(ctx.chat(messages, ban))));
}
const g = median(gen);
const c = median(chat);
console.log(`model: ${path.basename(src)} + ${values.template}.jinja; ${TOKENS} tokens, ${RUNS} runs, ${os.cpus()[0]?.model}`);
console.log(
  `generate(): ${g.toFixed(1)} tokens/s (median)   chat(): ${c.toFixed(1)} tokens/s (median)   chat/generate: ${((c / g) * 100).toFixed(1)} %`,
);
console.log(`samples generate: ${gen.map((x) => x.toFixed(0)).join(" ")}; chat: ${chat.map((x) => x.toFixed(0)).join(" ")}`);
await model.dispose();
