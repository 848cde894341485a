// JSON output: a JSON Schema becomes a grammar (llama.cpp's json_schema_to_grammar), so the answer
// always parses and matches it; result.json is the parsed value.
//   node examples/json-output.mjs [MODEL.gguf]
import { jsonSchemaToGrammar, loadModel } from "llama-native";
import { chatModelPath } from "./_chat-model.mjs";

const schema = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 20 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    pets: { type: "array", items: { enum: ["cat", "dog", "fish"] }, maxItems: 3 },
  },
  required: ["name", "age"],
};

const model = await loadModel(await chatModelPath(process.argv[2]));
const ctx = await model.createContext({ contextSize: 2048 });
const r = await ctx.chatComplete([{ role: "user", content: "Describe a person." }], {
  responseFormat: { type: "json_schema", schema },
  temperature: 0.8,
  seed: 1,
  maxTokens: 200,
});
console.log(r.json);

// The same works without a chat template, on complete(); and the grammar itself is available.
const c = await ctx.complete("A person:", { responseFormat: { type: "json_schema", schema }, maxTokens: 200, seed: 2 });
console.log(c.json);
console.log(jsonSchemaToGrammar(schema).split("\n").slice(0, 3).join("\n"), "...");
await model.dispose();
