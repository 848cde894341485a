// The HTTP fuzzer's client side: sends a case's raw bytes over a plain TCP socket (so that broken
// framing, junk headers and pipelined requests reach the server as written), reads the responses
// with a small HTTP/1.x response parser, and judges each one against the oracle.
import net from "node:net";

/**
 * Parses the HTTP/1.x responses in `buf` (as many as are complete). `methods` are the request
 * methods in order (a HEAD response has no body). `closed`: the server closed the connection, so a
 * response without framing ends here. Returns { responses, rest, incomplete }.
 */
export function parseResponses(buf, methods, closed) {
  const responses = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", at);
    if (end < 0) return { responses, incomplete: at < buf.length };
    const head = buf.subarray(at, end).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "");
    if (!m) return { responses, incomplete: true, garbage: head[0] };
    const status = Number(m[1]);
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let p = end + 4;
    if (status >= 100 && status < 200) {
      at = p; // 100 Continue: the real response follows
      continue;
    }
    const method = methods[responses.length] ?? "POST";
    let body;
    if (method === "HEAD" || status === 204 || status === 304) body = Buffer.alloc(0);
    else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const parts = [];
      for (;;) {
        const le = buf.indexOf("\r\n", p);
        if (le < 0) return { responses, incomplete: true };
        const size = Number.parseInt(buf.subarray(p, le).toString("latin1"), 16);
        if (!Number.isFinite(size)) return { responses, incomplete: true, garbage: "bad chunk size" };
        if (buf.length < le + 2 + size + 2) return { responses, incomplete: true };
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      if (buf.length < p + n) return { responses, incomplete: true };
      body = buf.subarray(p, p + n);
      p += n;
    } else {
      if (!closed) return { responses, incomplete: true };
      body = buf.subarray(p);
      p = buf.length;
      headers[":close-delimited"] = "1"; // no length: the body ended where the connection did
    }
    responses.push({ status, headers, body });
    at = p;
  }
}

/**
 * Sends one case and collects what comes back. A case: { parts: Buffer[], gapsMs: number[],
 * methods: string[], action } where action is "normal", "abort-body" (destroy the socket after
 * the parts, before the rest of the body), "abort-stream" (destroy after the first response bytes),
 * or "half-close" (end our side after the parts and read the answer). Resolves to
 * { responses, closed, hung, error, aborted }.
 */
export function sendCase(port, c, deadlineMs) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const chunks = [];
    let size = 0;
    let finished = false;
    let sentAll = false;
    const timers = [];
    const done = (extra) => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      const buf = Buffer.concat(chunks, size);
      const parsed = parseResponses(buf, c.methods, extra.closed);
      sock.destroy();
      resolve({ ...parsed, raw: buf, ...extra });
    };
    const expected = c.action === "abort-body" || c.action === "abort-stream" ? 0 : c.methods.length;
    const answered = () => {
      if (expected > 0 && sentAll && parseResponses(Buffer.concat(chunks, size), c.methods, false).responses.length >= expected)
        done({ closed: false });
    };
    sock.on("data", (d) => {
      chunks.push(d);
      size += d.length;
      if (c.action === "abort-stream") return done({ aborted: true });
      answered();
    });
    sock.on("error", (e) => done({ closed: true, error: e.code ?? e.message }));
    sock.on("end", () => done({ closed: true }));
    sock.on("close", () => done({ closed: true }));
    // a deadline from the start: a server that neither answers nor closes by then hangs
    timers.push(setTimeout(() => done({ hung: true }), deadlineMs));
    let i = 0;
    const next = () => {
      if (finished) return;
      if (i < c.parts.length) {
        sock.write(c.parts[i]);
        const gap = c.gapsMs[i] ?? 0;
        i++;
        if (gap > 0) timers.push(setTimeout(next, gap));
        else setImmediate(next);
        return;
      }
      sentAll = true;
      if (c.action === "abort-body") return done({ aborted: true });
      if (c.action === "half-close") sock.end();
      answered();
    };
    sock.once("connect", next);
  });
}

const isErrorShape = (j) =>
  j !== null &&
  typeof j === "object" &&
  j.error !== null &&
  typeof j.error === "object" &&
  typeof j.error.message === "string" &&
  typeof j.error.type === "string" &&
  "param" in j.error &&
  "code" in j.error;

/**
 * The oracle for one response: what is wrong with it, or undefined. 5xx other than 503 with
 * Retry-After is a finding; every error is OpenAI's JSON error shape; a 200 is well-formed JSON
 * or a well-formed event stream ending in [DONE] whose error events (if any) have the error shape.
 */
export function judge(r, method, action = "normal") {
  if (r.status >= 500 && !(r.status === 503 && r.headers["retry-after"]))
    return `status ${r.status}: ${r.body
      .toString("utf8")
      .replace(/^\{"error":\{"message":"/, "")
      .slice(0, 100)}`;
  if (method === "HEAD" || r.status === 204) return undefined;
  const text = r.body.toString("utf8");
  if (r.status >= 400) {
    if (!/application\/json/.test(r.headers["content-type"] ?? "")) return `error ${r.status} without a JSON content-type`;
    let j;
    try {
      j = JSON.parse(text);
    } catch {
      return `error ${r.status} whose body is not JSON`;
    }
    if (!isErrorShape(j)) return `error ${r.status} not in OpenAI's error shape`;
    if (j.error.code === 500 || j.error.type === "server_error") return `error ${r.status} with a server_error inside`;
    return undefined;
  }
  if (/text\/event-stream/.test(r.headers["content-type"] ?? "")) {
    const events = text.split("\n\n").filter((e) => e.length > 0);
    // node:http takes a client's half-close for a disconnect and aborts its request: a stream with no
    // length of its own (HTTP/1.0) then ends early, as it would for a client that is gone
    const cut = action === "half-close" && r.headers[":close-delimited"];
    if (cut && events.at(-1) !== "data: [DONE]") events.pop();
    else if (events.at(-1) !== "data: [DONE]") return "event stream not ending in data: [DONE]";
    else events.pop();
    for (const e of events) {
      if (!e.startsWith("data: ")) return `event without data: ${JSON.stringify(e.slice(0, 80))}`;
      let j;
      try {
        j = JSON.parse(e.slice(6));
      } catch {
        return `event that is not JSON: ${JSON.stringify(e.slice(0, 80))}`;
      }
      if (j && typeof j === "object" && "error" in j) {
        if (!isErrorShape(j)) return "error event not in OpenAI's error shape";
        if (j.error.code >= 500 || j.error.type === "server_error") return `error event with code ${j.error.code}: ${j.error.message}`;
      }
    }
    return undefined;
  }
  try {
    JSON.parse(text);
  } catch {
    return `status ${r.status} whose body is not JSON`;
  }
  return undefined;
}

/** One well-formed request (for the canonical checks): { status, json, text }. */
export async function request(port, method, path, body, headers = {}) {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const head =
    `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    `content-length: ${payload.length}\r\n\r\n`;
  const r = await sendCase(
    port,
    { parts: [Buffer.concat([Buffer.from(head), payload])], gapsMs: [], methods: [method], action: "normal" },
    60_000,
  );
  const res = r.responses[0];
  if (!res) throw new Error(`no response to ${method} ${path}${r.hung ? " (hung)" : ""}${r.error ? ` (${r.error})` : ""}`);
  return { status: res.status, headers: res.headers, text: res.body.toString("utf8") };
}
