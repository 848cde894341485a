// Context shift: 400 tokens from a context of 128, keeping the first prompt tokens each time the
// sequence fills up (llama.cpp's --context-shift --keep).
//   node examples/context-shift.mjs [MODEL.gguf]   (default: ../shared/models/stories260K.gguf)
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "llama-native";

const models = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "models");
const model = await loadModel(process.argv[2] ?? path.join(models, "stories260K.gguf"));
const ctx = await model.createContext({ contextSize: 128, contextShift: { keep: 4 } });
const r = await ctx.complete("Once upon a time", { temperature: 0, maxTokens: 400 });
console.log(
  `${r.tokens.length} tokens (${r.stopReason}) in a context of ${ctx.info.sequenceContextSize}; the cache now holds ${ctx.cachedTokens().length}`,
);
console.log(`...${r.text.slice(-300)}`);
await model.dispose();
