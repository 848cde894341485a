// Runs the OpenAI-compatible server inside this process and asks it one question through fetch.
//   node examples/serve-embedded.mjs [MODEL.gguf]
import { createServer } from "llama-native/server";
import { chatModelPath } from "./_chat-model.mjs";

const server = await createServer({ model: await chatModelPath(process.argv[2]), parallel: 2, contextSize: 1024 });
const { port } = await server.listen(0, "127.0.0.1");
const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 40, temperature: 0 }),
});
const answer = await r.json();
console.log(answer.choices[0].message.content);
console.log(answer.usage);
await server.close();
