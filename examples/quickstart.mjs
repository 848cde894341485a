// Quick start: stream a generation and print tokens/s.
//   npm run quickstart [-- MODEL.gguf] [-- "prompt"]
// Uses the real model ../shared/models/stories260K.gguf when it is there (or LLAMA_NATIVE_TEST_MODEL),
// else writes a small random-weight model (its text is gibberish, but everything runs).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "llama-native";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let modelPath = process.argv[2] ?? process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
if (!fs.existsSync(modelPath)) {
  const { makeRandomLlama } = await import("../scripts/make-model.mjs");
  modelPath = await makeRandomLlama({ out: path.join(root, "test", "fixtures", "generated", "quickstart-random.gguf"), outputSigma: 1 });
  console.error(`(no real model found; using a generated random-weight model: ${path.relative(process.cwd(), modelPath)})`);
}
const prompt = process.argv[3] ?? "Once upon a time";

const model = await loadModel(modelPath);
const ctx = await model.createContext();
console.error(
  `${model.info.name} (${model.info.architecture}, ${model.info.nParams.toLocaleString()} parameters), ${ctx.info.threads} threads`,
);

process.stdout.write(prompt);
const it = ctx.generate(prompt, { temperature: 0, maxTokens: 128 });
let r = await it.next();
while (!r.done) {
  process.stdout.write(r.value.text);
  r = await it.next();
}
const { timings, stopReason } = r.value;
console.log(
  `\n\n${timings.generatedTokens} tokens in ${timings.generateMs.toFixed(1)} ms: ` +
    `${((timings.generatedTokens / timings.generateMs) * 1000).toFixed(0)} tokens/s (stop: ${stopReason}); ` +
    `prompt ${timings.promptTokens} tokens in ${timings.promptMs.toFixed(1)} ms`,
);
await model.dispose();
