// createServer(): an OpenAI-compatible HTTP server over one model and one context. Requests share
// the context's sequences through the native continuous batching (`parallel` of them at once); the
// rest wait in the native engine's queue (admitted in the engine thread the moment a sequence is
// free, with their template already rendered), up to maxQueue of them; beyond it 503 with Retry-After.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AbortError, type Context, type Model, loadModel } from "../index";
import { defineOptions, v } from "../options";
import { EventStream, HttpError, answerClientError, keyMatches, readJson, sendError, sendJson, toHttpError } from "./http";
import { chatFromBody, embeddingInput, logprobsFromBody, promptFromBody, samplingFromBody } from "./requests";
import { rerank, rerankFromBody } from "./rerank";
import { type ServerState, chatCompletion, completion, preparationError } from "./routes";

export interface ServerOptions {
  /** A loaded model, or the path of one (loaded by createServer, disposed by close). */
  model: Model | string;
  /** Context size in tokens, shared by the parallel sequences (llama-server's -c). Default: 4096 per sequence, at most the model's. */
  contextSize?: number;
  /** Requests generated at once, each in its own KV sequence (llama-server's -np). Default 4. */
  parallel?: number;
  /** CPU threads (default: the library's). */
  threads?: number;
  /** When set, every request needs `Authorization: Bearer KEY` (compared in constant time). */
  apiKey?: string;
  /** A Jinja chat template overriding the model's. */
  chatTemplate?: string;
  /** Serve /v1/embeddings (a second, embedding context). Default false. */
  embeddings?: boolean;
  /**
   * Serve /v1/rerank (a context with pooling "rank", as llama-server's --reranking): the model must be
   * a reranker. Default false.
   */
  reranking?: boolean;
  /** The model id /v1/models reports (default: the file name). */
  alias?: string;
  /** Seconds a request may take in all (queue + generation) before it is aborted. Default 600. */
  timeout?: number;
  /** Requests that may wait for a free sequence; beyond them 503. Default 64. */
  maxQueue?: number;
  /** Largest request body in bytes (413 beyond). Default 8 MiB. */
  bodyLimit?: number;
  /** Allow this origin in CORS responses ("*" for any). Default: no CORS headers. */
  cors?: string;
}

const parseServerOptions = defineOptions<ServerOptions>("createServer options", {
  model: (value, name) => {
    if (typeof value === "string" && value.length > 0) return value;
    if (value !== null && typeof value === "object" && "createContext" in value) return value as Model;
    throw new TypeError(`${name} must be a Model or a path to a GGUF file`);
  },
  contextSize: v.int(1, 2 ** 24),
  parallel: v.int(1, 256),
  threads: v.int(1, 1024),
  apiKey: v.string,
  chatTemplate: v.string,
  embeddings: v.bool,
  reranking: v.bool,
  alias: v.string,
  timeout: v.int(1, 86_400),
  maxQueue: v.int(0, 100_000),
  bodyLimit: v.int(1024, 2 ** 30),
  cors: v.string,
});

export class LlamaServer {
  readonly #o: ServerOptions;
  #state: ServerState | undefined;
  #emb: Context | undefined;
  #rank: Context | undefined;
  #ownsModel = false;
  #http: http.Server | undefined;
  /** chat and completion requests holding or waiting for a sequence, in arrival order */
  #inflight: AbortController[] = [];
  #requests = new Set<AbortController>();
  #closing: Promise<void> | undefined;
  readonly #created = Math.floor(Date.now() / 1000);

  /** @internal use createServer() */
  constructor(options: ServerOptions) {
    const o = parseServerOptions(options);
    if (o.model === undefined) throw new TypeError("createServer options: model is required (a Model or a path)");
    this.#o = { ...o, model: o.model };
  }

  /** @internal loads the model and makes the contexts */
  async init(): Promise<this> {
    const o = this.#o;
    const model = typeof o.model === "string" ? await loadModel(o.model) : o.model;
    this.#ownsModel = typeof o.model === "string";
    const parallel = o.parallel ?? 4;
    const contextSize = o.contextSize ?? Math.min(model.info.contextLength || 4096, 4096) * parallel;
    const ctx = await model.createContext({ contextSize, sequences: parallel, ...(o.threads ? { threads: o.threads } : {}) });
    if (o.embeddings)
      this.#emb = await model.createContext({
        contextSize: Math.min(contextSize, 8192),
        embeddings: true,
        ...(o.threads ? { threads: o.threads } : {}),
      });
    if (o.reranking) {
      try {
        this.#rank = await model.createContext({
          contextSize: Math.min(contextSize, 8192),
          embeddings: true,
          pooling: "rank",
          ...(o.threads ? { threads: o.threads } : {}),
        });
      } catch (e) {
        // not a reranker: nothing the server made stays behind
        await this.#emb?.dispose();
        await ctx.dispose();
        if (this.#ownsModel) await model.dispose();
        throw e;
      }
    }
    const name = typeof o.model === "string" ? o.model : model.path;
    this.#state = {
      model,
      ctx,
      modelId: o.alias ?? name.split(/[\\/]/).pop()!,
      chatTemplate: o.chatTemplate,
      perSequence: ctx.info.sequenceContextSize,
    };
    return this;
  }

  /** The request handler, for node:http, Express or Fastify (`app.use(server.handler)`). */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    void this.#handle(req, res);
  };

  /** Starts listening (default 127.0.0.1:8080); resolves to the address. */
  listen(port = 8080, host = "127.0.0.1"): Promise<AddressInfo> {
    if (this.#http) throw new Error("the server is already listening");
    const srv = http.createServer(this.handler);
    // what node:http answers by itself (unparseable requests, Expect other than 100-continue) in
    // OpenAI's error shape too (a server mounting `handler` keeps its own answers to those)
    srv.on("clientError", answerClientError);
    srv.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) =>
      sendError(res, new HttpError(417, `expect: ${String(req.headers.expect)} is not supported (only 100-continue)`, { param: "expect" })),
    );
    this.#http = srv;
    return new Promise((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, host, () => {
        srv.off("error", reject);
        resolve(srv.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting requests, lets running ones finish for up to `graceMs` (then aborts them),
   * and frees the contexts (and the model, when the server loaded it). Idempotent.
   */
  close(graceMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      const closed = this.#http ? new Promise<void>((r) => this.#http!.close(() => r())) : Promise.resolve();
      // requests still waiting for a sequence are not started: they get 503 now. The engine admits
      // in the order generations were submitted, which is arrival order but for a chat request's
      // template rendering (milliseconds), so they are the ones past the first `parallel`.
      const shutting = () => new HttpError(503, "the server is shutting down");
      for (const ac of this.#inflight.slice(this.#state?.ctx.info.sequences ?? 0)) ac.abort(shutting());
      const deadline = setTimeout(() => {
        for (const ac of this.#requests) ac.abort(shutting());
        this.#http?.closeAllConnections();
      }, graceMs);
      this.#http?.closeIdleConnections();
      while (this.#requests.size > 0) await new Promise((r) => setTimeout(r, 20));
      clearTimeout(deadline);
      this.#http?.closeAllConnections();
      await closed;
      const s = this.#state;
      await this.#emb?.dispose();
      await this.#rank?.dispose();
      await s?.ctx.dispose();
      if (this.#ownsModel) await s?.model.dispose();
    })();
    return this.#closing;
  }

  #cors(): Record<string, string> {
    return this.#o.cors
      ? {
          "access-control-allow-origin": this.#o.cors,
          "access-control-allow-headers": "authorization, content-type",
          "access-control-allow-methods": "GET, POST, OPTIONS",
        }
      : {};
  }

  /**
   * Takes a place among the requests that generate or wait for a sequence (503 when `parallel` of
   * them generate and maxQueue wait). The waiting itself is the native engine's: it starts the next
   * request in its own thread the moment a sequence is free, with no round trip through JavaScript.
   */
  #admit(ac: AbortController): () => void {
    if (this.#closing) throw new HttpError(503, "the server is shutting down");
    if (this.#inflight.length >= this.#state!.ctx.info.sequences + (this.#o.maxQueue ?? 64)) {
      throw new HttpError(503, "the server is busy: every sequence is generating and the queue is full", {
        headers: { "retry-after": "1" },
      });
    }
    this.#inflight.push(ac);
    return () => {
      const i = this.#inflight.indexOf(ac);
      if (i >= 0) this.#inflight.splice(i, 1);
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cors = this.#cors();
    const ac = new AbortController();
    this.#requests.add(ac);
    const timeout = this.#o.timeout ?? 600;
    const timer = setTimeout(
      () => ac.abort(new HttpError(408, `the request took longer than the server's timeout (${timeout} s)`)),
      timeout * 1000,
    );
    // a client that goes away aborts its generation (its sequence is freed at once)
    res.on("close", () => ac.abort());
    try {
      if (this.#closing) throw new HttpError(503, "the server is shutting down");
      const s = this.#state;
      if (!s) throw new HttpError(503, "the model is loading", { headers: { "retry-after": "1" } });
      const url = new URL(req.url ?? "/", "http://localhost");
      const route = `${req.method} ${url.pathname.replace(/\/+$/, "") || "/"}`;
      if (req.method === "OPTIONS" && this.#o.cors) {
        res.writeHead(204, cors).end();
        return;
      }
      if (route === "GET /health") return sendJson(res, 200, { status: "ok" }, cors);
      if (this.#o.apiKey !== undefined && !keyMatches(req, this.#o.apiKey)) throw new HttpError(401, "invalid or missing API key");
      const limit = this.#o.bodyLimit ?? 8 << 20;
      switch (route) {
        case "GET /v1/models":
        case "GET /models":
          return sendJson(
            res,
            200,
            { object: "list", data: [{ id: s.modelId, object: "model", created: this.#created, owned_by: "llama-native" }] },
            cors,
          );
        case "POST /v1/chat/completions":
        case "POST /chat/completions": {
          const body = await readJson(req, limit);
          const { messages, options } = chatFromBody(body, s.model.vocab.size, s.perSequence);
          if (s.chatTemplate) options.template = s.chatTemplate;
          const release = this.#admit(ac);
          try {
            await chatCompletion(s, body, messages, { ...options, signal: ac.signal }, res, cors);
          } finally {
            release();
          }
          return;
        }
        case "POST /v1/completions":
        case "POST /completions": {
          const body = await readJson(req, limit);
          const prompt = promptFromBody(body);
          const options = { ...samplingFromBody(body, s.model.vocab.size, s.perSequence), ...logprobsFromBody(body, false) };
          const release = this.#admit(ac);
          try {
            await completion(s, body, prompt, { ...options, signal: ac.signal }, res, cors);
          } finally {
            release();
          }
          return;
        }
        case "POST /v1/embeddings":
        case "POST /embeddings": {
          if (!this.#emb) throw new HttpError(501, "this server was started without --embeddings");
          const body = await readJson(req, limit);
          const { texts, base64 } = embeddingInput(body);
          const vectors = await this.#emb.embed(texts, { signal: ac.signal });
          let tokens = 0;
          for (const t of texts) tokens += s.model.tokenize(t, { addSpecial: true, parseSpecial: true }).length;
          return sendJson(
            res,
            200,
            {
              object: "list",
              model: s.modelId,
              data: vectors.map((vec, index) => ({
                object: "embedding",
                index,
                embedding: base64 ? Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength).toString("base64") : Array.from(vec),
              })),
              usage: { prompt_tokens: tokens, total_tokens: tokens },
            },
            cors,
          );
        }
        case "POST /v1/rerank":
        case "POST /rerank":
        case "POST /v1/reranking":
        case "POST /reranking": {
          if (!this.#rank) throw new HttpError(501, "this server was started without --reranking", { type: "not_supported_error" });
          const body = await readJson(req, limit);
          return sendJson(res, 200, await rerank(this.#rank, s.modelId, body, rerankFromBody(body), ac.signal), cors);
        }
        case "POST /tokenize": {
          const body = await readJson(req, limit);
          if (typeof body.content !== "string") throw new HttpError(400, "content: must be a string", { param: "content" });
          const tokens = s.model.tokenize(body.content, {
            addSpecial: body.add_special === true,
            parseSpecial: body.parse_special !== false,
          });
          const pieces = body.with_pieces === true;
          return sendJson(
            res,
            200,
            { tokens: pieces ? Array.from(tokens, (id) => ({ id, piece: s.model.tokenToPiece(id) })) : Array.from(tokens) },
            cors,
          );
        }
        case "POST /detokenize": {
          const body = await readJson(req, limit);
          const t = body.tokens;
          if (!Array.isArray(t) || !t.every((x) => Number.isInteger(x) && x >= 0 && x < s.model.vocab.size)) {
            throw new HttpError(400, `tokens: must be an array of token ids (0 to ${s.model.vocab.size - 1})`, { param: "tokens" });
          }
          return sendJson(res, 200, { content: s.model.detokenize(t as number[]) }, cors);
        }
        case "POST /apply-template": {
          const body = await readJson(req, limit);
          const { messages, options } = chatFromBody(body, s.model.vocab.size, s.perSequence);
          const r = await s.model
            .applyChatTemplate(messages, {
              ...(options.tools ? { tools: options.tools } : {}),
              ...(options.toolChoice ? { toolChoice: options.toolChoice } : {}),
              ...(options.templateKwargs ? { templateKwargs: options.templateKwargs } : {}),
              ...(options.enableThinking !== undefined ? { enableThinking: options.enableThinking } : {}),
              ...(s.chatTemplate ? { template: s.chatTemplate } : {}),
            })
            .catch((e) => {
              throw preparationError(e);
            });
          return sendJson(res, 200, { prompt: r.prompt }, cors);
        }
        default:
          throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      }
    } catch (e) {
      // an embedding or rerank the server aborted (timeout, shutdown) answers with the reason it gave
      const reason: unknown = ac.signal.reason;
      sendError(res, e instanceof AbortError && reason instanceof HttpError ? reason : toHttpError(e));
    } finally {
      clearTimeout(timer);
      this.#requests.delete(ac);
    }
  }
}

/** Starts the server's model and contexts; then `listen()`, or mount `handler` in your own server. */
export async function createServer(options: ServerOptions): Promise<LlamaServer> {
  return new LlamaServer(options).init();
}

export { EventStream };
