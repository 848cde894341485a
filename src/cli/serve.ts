// llama-native serve: the OpenAI-compatible server (src/server) from the command line, with
// llama-server's flag names where they mean the same.
import fs from "node:fs";
import { createServer } from "../server/index";
import { type Command, intFlag, parse, UsageError } from "./args";
import { loadFromFlags } from "./model-flags";

const USAGE = `llama-native serve -m MODEL [options]
    An OpenAI-compatible HTTP server (docs/server.md): /v1/chat/completions, /v1/completions,
    /v1/embeddings, /v1/rerank, /v1/models, /health, /tokenize, /detokenize, /apply-template.
    -m, --model FILE            the GGUF model (required)
    --host HOST                 address to listen on (default 127.0.0.1: this machine only)
    --port N                    port (default 8080)
    -c, --ctx-size N            context size in tokens, shared by the parallel sequences (default 4096 per sequence)
    -np, --parallel N           requests generated at once (default 4); the rest wait in a bounded queue
    -t, --threads N             CPU threads (default: every core)
    -g, --gpu-layers N          layers to offload to a GPU or the RPC workers (-1 = all)
    --rpc HOST:PORT,...         RPC workers holding part of the model (docs/rpc.md)
    --tensor-split A,B,...      share of the offloaded layers per device, RPC workers first
    --api-key KEY               require Authorization: Bearer KEY (or LLAMA_API_KEY)
    --chat-template-file FILE   a Jinja chat template overriding the model's
    --mmproj FILE               a multimodal projector: chat messages may hold image_url (data: URLs) and input_audio parts
    --embeddings                serve /v1/embeddings
    --reranking                 serve /v1/rerank (the model must be a reranker)
    --alias NAME                the model id /v1/models reports
    --timeout SECONDS           longest a request may take (default 600)
    --queue N                   requests that may wait for a free sequence (default 64; beyond: 503)
    --cors ORIGIN               allow this origin (CORS is off by default)`;

async function run(argv: string[]): Promise<number> {
  // llama-server spells it -np: parseArgs takes one-letter short flags only, so it is rewritten
  const args = argv.map((a) => (a === "-np" ? "--parallel" : a));
  const { values } = parse(args, {
    model: { type: "string", short: "m" },
    host: { type: "string" },
    port: { type: "string" },
    "ctx-size": { type: "string", short: "c" },
    parallel: { type: "string" },
    threads: { type: "string", short: "t" },
    "gpu-layers": { type: "string", short: "g" },
    rpc: { type: "string" },
    "tensor-split": { type: "string" },
    "api-key": { type: "string" },
    "chat-template-file": { type: "string" },
    mmproj: { type: "string" },
    embeddings: { type: "boolean" },
    reranking: { type: "boolean" },
    alias: { type: "string" },
    timeout: { type: "string" },
    queue: { type: "string" },
    cors: { type: "string" },
  });
  const port = intFlag(values, "port", 8080, 0, 65535)!;
  const host = (values.host as string | undefined) ?? "127.0.0.1";
  const templateFile = values["chat-template-file"] as string | undefined;
  let chatTemplate: string | undefined;
  if (templateFile !== undefined) {
    try {
      chatTemplate = fs.readFileSync(templateFile, "utf8");
    } catch (e) {
      throw new UsageError(`--chat-template-file: ${(e as Error).message}`);
    }
  }
  const parallel = intFlag(values, "parallel", 4, 1, 256)!;
  const contextSize = intFlag(values, "ctx-size", undefined, 1, 2 ** 24);
  const threads = intFlag(values, "threads", undefined, 1, 1024);
  const timeout = intFlag(values, "timeout", undefined, 1, 86_400);
  const maxQueue = intFlag(values, "queue", undefined, 0, 100_000);
  const apiKey = (values["api-key"] as string | undefined) ?? process.env.LLAMA_API_KEY;
  const model = await loadFromFlags(values);
  if (typeof values.mmproj === "string") {
    try {
      await model.loadProjector(values.mmproj);
    } catch (e) {
      await model.dispose();
      throw e;
    }
  }
  const server = await createServer({
    model,
    parallel,
    ...(contextSize !== undefined ? { contextSize } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(maxQueue !== undefined ? { maxQueue } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(chatTemplate !== undefined ? { chatTemplate } : {}),
    ...(values.embeddings ? { embeddings: true } : {}),
    ...(values.reranking ? { reranking: true } : {}),
    ...(values.alias ? { alias: values.alias as string } : {}),
    ...(values.cors ? { cors: values.cors as string } : {}),
  });
  const addr = await server.listen(port, host);
  console.error(
    `llama-native serve: listening on http://${addr.address.includes(":") ? `[${addr.address}]` : addr.address}:${addr.port} (${parallel} parallel)`,
  );
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      console.error(`llama-native serve: ${sig}: finishing running requests (10 s at most)`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      void server.close(10_000).then(async () => {
        await model.dispose();
        resolve();
      });
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  return 0;
}

export const serve: Command = { name: "serve", summary: "an OpenAI-compatible HTTP server (docs/server.md)", usage: USAGE, run };
