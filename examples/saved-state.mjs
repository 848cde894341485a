// Saved state: generate, save the sequence to a file, restore it into a new context and go on; the
// continuation is the one an uninterrupted run gives, and the restored prefix is not decoded again.
//   node examples/saved-state.mjs [MODEL.gguf]   (default: ../shared/models/stories260K.gguf)
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "llama-native";

const models = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "models");
const model = await loadModel(process.argv[2] ?? path.join(models, "stories260K.gguf"));
const prompt = "Once upon a time";
const file = path.join(os.tmpdir(), "llama-native-example.state");

const first = await model.createContext();
const head = await first.complete(prompt, { temperature: 0, maxTokens: 20 });
console.log(`saved ${await first.saveState(file)} bytes after: ${prompt}${head.text}`);
await first.dispose();

const second = await model.createContext();
console.log(`restored ${await second.loadState(file)} tokens`);
const tail = await second.complete([...model.tokenize(prompt), ...head.tokens], { temperature: 0, maxTokens: 20 });
console.log(`continued (${tail.timings.reusedTokens} tokens reused, ${tail.timings.evaluatedPromptTokens} decoded): ...${tail.text}`);
await model.dispose();
