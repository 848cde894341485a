// LoRA adapters: the same prompt with the trained "Spark the dragon" adapter at three scales, on one
// context (ctx.setLoras between generations).
//   node examples/lora.mjs [MODEL.gguf ADAPTER.gguf]   (default: ../shared/models/stories260K*.gguf)
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "llama-native";

const models = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "models");
const modelPath = process.argv[2] ?? path.join(models, "stories260K.gguf");
const loraPath = process.argv[3] ?? path.join(models, "stories260K-lora-spark-r4.gguf");

const model = await loadModel(modelPath);
const spark = await model.loadLora(loraPath);
const ctx = await model.createContext();
for (const scale of [0, 0.5, 1]) {
  await ctx.setLoras([{ adapter: spark, scale }]);
  const r = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 24 });
  console.log(`scale ${scale}: Once upon a time${r.text}`);
}
await model.dispose();
