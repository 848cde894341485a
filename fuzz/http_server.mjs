// The server the HTTP fuzzer attacks, in a child process of its own (a crash ends this process, not
// the fuzzer, which sees the exit and records the requests in flight). Started by http_fuzz.mjs
// with `node --expose-gc fuzz/http_server.mjs CHAT_MODEL.gguf`; it says { port } over IPC when it
// listens and answers { rss } (after a full GC) when asked.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { API_KEY } from "./http_cases.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { createServer } = await import(path.join(root, "dist", "server", "index.mjs"));

// Small limits, so that the limits themselves are fuzzed: 2 sequences of 512 tokens (max_tokens is
// capped there), 2 waiting requests before 503, 256 KiB bodies, 20 s per request.
export const SERVER_OPTIONS = {
  contextSize: 1024,
  parallel: 2,
  maxQueue: 2,
  bodyLimit: 256 << 10,
  timeout: 20,
  embeddings: true,
  apiKey: API_KEY,
  threads: 1,
};

const server = await createServer({ model: process.argv[2], ...SERVER_OPTIONS });
const addr = await server.listen(0, "127.0.0.1");
process.on("message", (m) => {
  if (m === "rss") {
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.send({ rss: m.rss, heapUsed: m.heapUsed, external: m.external });
  } else if (m === "close") {
    server.close(2000).then(() => process.exit(0));
  }
});
// the fuzzer gone (killed, timed out): this server goes too, rather than live on as an orphan
process.on("disconnect", () => process.exit(0));
process.send({ port: addr.port });
