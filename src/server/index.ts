// llama-native/server: an OpenAI-compatible HTTP server (docs/server.md).
export { createServer, LlamaServer } from "./server";
export type { ServerOptions } from "./server";
export { HttpError } from "./http";
