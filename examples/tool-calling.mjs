// Tool calling: the session offers a tool, the model calls it (here forced with toolChoice "required",
// so that even a tiny model does), the handler runs with arguments checked against its schema, and
// the model answers with the result.
//   node examples/tool-calling.mjs [MODEL.gguf]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "llama-native";
import { chatModelPath } from "./_chat-model.mjs";

const model = await loadModel(await chatModelPath(process.argv[2]));
const ctx = await model.createContext({ contextSize: 4096 });
// With the tiny default model, Command R+'s template: its "required" grammar starts the call at once
// (most templates let free text come first, and a story model never opens a call on its own).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const template = process.argv[2]
  ? undefined
  : fs.readFileSync(
      path.join(root, "vendor", "llama.cpp", "models", "templates", "CohereForAI-c4ai-command-r-plus-tool_use.jinja"),
      "utf8",
    );
const city = { type: "object", properties: { city: { type: "string", maxLength: 16 } }, required: ["city"] };

// One turn by hand: the call comes back parsed.
const r = await ctx.chatComplete([{ role: "user", content: "What is the weather in Paris?" }], {
  tools: [
    {
      name: "get_weather",
      description: "The current weather in a city",
      parameters: city,
    },
  ],
  toolChoice: "required",
  ...(template ? { template } : {}),
  temperature: 0,
  maxTokens: 200,
});
console.log(r.stopReason, JSON.stringify(r.message.toolCalls));

// A session runs the handler itself and gives the result back to the model.
const session = ctx.createChatSession({
  tools: {
    get_weather: {
      description: "The current weather in a city",
      parameters: city,
      handler: ({ city }) => ({ city, sky: "clear", celsius: 21 }),
    },
  },
  maxToolRounds: 1,
  options: { temperature: 0, maxTokens: 200, toolChoice: "required", ...(template ? { template } : {}) },
});
const answer = await session.send("What is the weather in Paris?");
for (const m of session.messages) console.log(m.role, JSON.stringify(m.content ?? m.toolCalls));
console.log(answer.stopReason);
await model.dispose();
