// A terminal chat: a ChatSession keeps the history (and its KV cache), answers stream as they come,
// reasoning is shown dimmed, Ctrl-C stops an answer, Ctrl-D (or /exit) leaves, /reset forgets.
//   node examples/chat-terminal.mjs [MODEL.gguf]
import readline from "node:readline/promises";
import { loadModel } from "llama-native";
import { chatModelPath } from "./_chat-model.mjs";

const model = await loadModel(await chatModelPath(process.argv[2]));
const ctx = await model.createContext({ contextSize: 2048 });
const session = ctx.createChatSession({ system: "You are a helpful assistant.", options: { temperature: 0.7, maxTokens: 256 } });

const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
let answering;
rl.on("SIGINT", () => (answering ? answering.abort() : rl.close()));
try {
  for (;;) {
    let line;
    try {
      line = await rl.question("> ");
    } catch {
      break; // Ctrl-D
    }
    if (line === "/exit") break;
    if (line === "/reset") {
      session.reset();
      continue;
    }
    answering = new AbortController();
    let reasoning = false;
    for await (const chunk of session.stream(line, { signal: answering.signal })) {
      if (chunk.reasoning) {
        process.stdout.write(`${reasoning ? "" : "\x1b[2m"}${chunk.reasoning}`);
        reasoning = true;
      }
      if (chunk.text) {
        process.stdout.write(`${reasoning ? "\x1b[0m\n" : ""}${chunk.text}`);
        reasoning = false;
      }
    }
    process.stdout.write("\x1b[0m\n");
    answering = undefined;
  }
} finally {
  rl.close();
  await model.dispose();
}
