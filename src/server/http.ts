// HTTP plumbing of the server: errors in OpenAI's JSON shape, bounded body reading, server-sent
// events, and the API key check.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ContextFullError } from "../errors";

/** An error answered to the client: its status and OpenAI's error object. */
export class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: { type?: string; param?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }
}

function defaultType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 429 || status === 503) return "unavailable_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** A 400 naming the request field that is wrong. */
export function badField(param: string, message: string): HttpError {
  return new HttpError(400, `${param}: ${message}`, { param });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, e.status, errorObject(e), e.headers);
}

/** OpenAI's error object: { error: { message, type, param, code } } */
export function errorObject(e: HttpError) {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.status } };
}

/**
 * node:http's 'clientError' (a request it could not parse: bad method, header or framing; headers
 * too large; a request timeout), answered in OpenAI's error shape instead of node's bare status line.
 * As node's own handler does, it writes only when no response has started on the socket.
 */
export function answerClientError(err: Error & { code?: string; reason?: string }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const e =
      err.code === "HPE_HEADER_OVERFLOW"
        ? new HttpError(431, "the request headers are too large")
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new HttpError(408, "the request was not received in time")
          : new HttpError(400, `the request is not valid HTTP: ${err.reason ?? err.message}${err.code ? ` (${err.code})` : ""}`);
    const body = JSON.stringify(errorObject(e));
    const reason = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" }[e.status];
    socket.write(
      `HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * The request body as parsed JSON, refused with 413 past `limit` bytes and 400 when it is not a JSON
 * object. A body over the limit is answered at once and the rest of it read and dropped, so the
 * connection stays usable: leaving a `for await` over the request destroyed it, and with it any
 * request pipelined behind (fuzz/http_fuzz.mjs found that); closing the connection instead loses the
 * 413 itself to a reset while the client is still sending. A declared Content-Length over the limit
 * is answered without reading; node:http then drops the body the same way.
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit)
    throw new HttpError(413, `the request body is ${declared} bytes; the limit is ${limit}`);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return; // draining
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(new HttpError(413, `the request body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks, size).toString("utf8")));
    // a client gone mid-body: nobody reads the answer, but it is the client's error, not the server's
    req.once("error", () => reject(new HttpError(400, "the request body ended before it was complete")));
    req.once("close", () => {
      if (!req.complete) reject(new HttpError(400, "the request body ended before it was complete"));
    });
  });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "the request body must be a JSON object");
  return body as Record<string, unknown>;
}

/** A server-sent event stream (text/event-stream), as OpenAI streams chat and completions. */
export class EventStream {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse, headers: Record<string, string>) {
    this.#res = res;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      ...headers,
    });
    res.flushHeaders();
  }

  send(data: unknown): void {
    if (!this.#res.writableEnded) this.#res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** an error after the stream started: an error event, as llama-server sends one */
  fail(e: HttpError): void {
    this.send(errorObject(e));
    this.end();
  }

  end(): void {
    if (!this.#res.writableEnded) this.#res.end("data: [DONE]\n\n");
  }
}

/** Compares the bearer token with the key in constant time (hashes of equal length). */
export function keyMatches(req: IncomingMessage, key: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : ((req.headers["x-api-key"] as string | undefined) ?? "");
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(key).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

/** Library errors as HTTP answers: argument errors are the client's (400), a full context too. */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof TypeError || e instanceof RangeError) return new HttpError(400, e.message);
  if (e instanceof ContextFullError) return new HttpError(400, e.message, { type: "exceed_context_size_error" });
  return new HttpError(500, e instanceof Error ? e.message : String(e));
}

/** A unique id for a response (chatcmpl-..., cmpl-...). */
export function responseId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("base64url")}`;
}
