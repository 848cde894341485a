// The HTTP fuzzer's cases: case N of seed S is a pure function of (S, N), so any request the fuzzer
// sent can be made again with --seed S --case N. A case starts from a valid body of one endpoint,
// mutates its JSON structurally (wrong types, huge / negative / non-finite numbers, deep nesting,
// huge and odd unicode strings, dropped and added fields), then possibly its text (broken JSON,
// invalid UTF-8, duplicate keys, truncation), then the HTTP envelope around it (method, path,
// headers, framing), and picks how the client behaves (pipelined, dripped, aborted mid-body or
// mid-stream, half-closed).

import { API_KEY, ENDPOINTS, FIELDS, JUNK_HEADERS, METHODS, NUMBERS, PATHS, UNICODE } from "./http_data.mjs";

export { API_KEY, ENDPOINTS };

/** mulberry32 over a seed mixed with the case number: a small, fast PRNG whose cases are reproducible. */
export function rngFor(seed, n) {
  let a = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
  return r;
}

function randomString(r) {
  switch (r.int(0, 5)) {
    case 0:
      return "";
    case 1:
      return "x".repeat(r.pick([1000, 70_000, 300_000])); // past the 256 KiB body limit sometimes
    case 2:
      return Array.from({ length: r.int(1, 40) }, () => r.pick(UNICODE)).join("");
    case 3:
      return r.pick(["NaN", "Infinity", "-1", "16", "true", "null", "{}", "[]", "user", "assistant", "tool", "__proto__", "constructor"]);
    case 4:
      return String.fromCharCode(...Array.from({ length: r.int(1, 64) }, () => r.int(0, 0xffff)));
    default:
      return r.pick(["Once upon a time", "get_weather", "function", "json_schema", "text"]);
  }
}

/** A value of any type. Deep nesting is a placeholder string spliced in after JSON.stringify (see serialize). */
function randomValue(r, depth = 0) {
  switch (r.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(NUMBERS);
    case 3:
      return randomString(r);
    case 4:
      return depth < 3 ? Array.from({ length: r.int(0, 4) }, () => randomValue(r, depth + 1)) : [];
    case 5:
      return depth < 3 ? { [randomKey(r)]: randomValue(r, depth + 1) } : {};
    case 6:
      return `\u0001DEEP:${r.pick([10, 100, 1000, 100_000])}:${r.pick(["[", "{"])}\u0001`;
    case 7:
      return Array.from({ length: r.pick([100, 10_000]) }, () => r.int(-5, 600)); // big arrays of token-ish ids
    case 8:
      return `\u0001NUM:${r.pick(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "0x10", "01", "1.", ".5", "+1", "-", "1e", "99999999999999999999999"])}\u0001`;
    default: {
      const f = r.pick(Object.keys(FIELDS));
      return structuredClone(r.pick(FIELDS[f]));
    }
  }
}

const randomKey = (r) => (r.chance(0.7) ? r.pick(Object.keys(FIELDS)) : randomString(r).slice(0, 40));

/** Every (container, key) slot in a JSON value, for picking one to mutate. */
function slots(v, out = []) {
  if (v !== null && typeof v === "object") {
    for (const k of Object.keys(v)) {
      out.push([v, k]);
      slots(v[k], out);
    }
  }
  return out;
}

/** One structural mutation of `body` (in place); returns the (possibly new) root. */
function mutateTree(r, body) {
  if (body === null || typeof body !== "object") return r.chance(0.5) ? {} : randomValue(r);
  const all = slots(body);
  const op = r.int(0, 6);
  if (op === 0 || all.length === 0) {
    // add a known field (valid value) or a junk field at the top or deeper
    const target = all.length && r.chance(0.3) ? r.pick(all) : undefined;
    const obj = target && target[0][target[1]] !== null && typeof target[0][target[1]] === "object" ? target[0][target[1]] : body;
    const k = randomKey(r);
    obj[k] = r.chance(0.6) && FIELDS[k] ? structuredClone(r.pick(FIELDS[k])) : randomValue(r);
    return body;
  }
  const [obj, key] = r.pick(all);
  switch (op) {
    case 1:
      obj[key] = randomValue(r);
      break;
    case 2:
      if (Array.isArray(obj)) obj.splice(Number(key), 1);
      else delete obj[key];
      break;
    case 3: // repeat an array element or wrap a value in an array / object
      if (Array.isArray(obj)) obj.push(...Array.from({ length: r.pick([1, 10, 200]) }, () => structuredClone(obj[key])));
      else obj[key] = r.chance(0.5) ? [obj[key]] : { value: obj[key] };
      break;
    case 4: // a number's neighbours
      obj[key] =
        typeof obj[key] === "number" ? r.pick([obj[key] + 1, obj[key] - 1, -obj[key], obj[key] * 1e6, obj[key] + 0.5]) : r.pick(NUMBERS);
      break;
    case 5: // a string to a typed look-alike, and the reverse
      obj[key] = typeof obj[key] === "string" ? r.pick([0, null, [obj[key]], { text: obj[key] }, true]) : JSON.stringify(obj[key] ?? null);
      break;
    default:
      if (r.chance(0.1)) return randomValue(r); // the whole body: an array, a string, null...
      obj[key] = randomString(r);
  }
  return body;
}

/** JSON text of the body, the placeholders replaced (deep nesting, non-JSON numbers). */
function serialize(body) {
  if (body === undefined) return "";
  return JSON.stringify(body).replace(/"\\u0001(DEEP|NUM):([^\\]*):?([[{]?)\\u0001"/g, (_, kind, a, b) => {
    if (kind === "NUM") return a;
    const n = Number(a);
    return b === "[" ? "[".repeat(n) + "]".repeat(n) : '{"a":'.repeat(n) + "1" + "}".repeat(n);
  });
}

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0xa6]];

/** Text-level mutations of the JSON bytes. */
function mutateText(r, buf) {
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) {
    const at = r.int(0, buf.length);
    switch (r.int(0, 7)) {
      case 0:
        buf = buf.subarray(0, at); // truncated
        break;
      case 1:
        if (buf.length) buf[Math.min(at, buf.length - 1)] ^= 1 << r.int(0, 7);
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(r.pick(INVALID_UTF8)), buf.subarray(at)]);
        break;
      case 3: {
        // a duplicate key right after the first brace
        const dup = `"${r.pick(["max_tokens", "messages", "prompt", "stream", "temperature", "content", "tokens", "input"])}":${serialize(randomValue(r))},`;
        const brace = buf.indexOf("{");
        if (brace >= 0) buf = Buffer.concat([buf.subarray(0, brace + 1), Buffer.from(dup), buf.subarray(brace + 1)]);
        break;
      }
      case 4:
        buf = Buffer.concat([Buffer.from(r.pick(["\ufeff", " ".repeat(10_000), "\n", "\u0000"])), buf]);
        break;
      case 5:
        buf = Buffer.concat([buf, Buffer.from(r.pick(["}", "]", ",", "garbage", "\u0000", "{}", " ".repeat(5000)]))]);
        break;
      case 6:
        buf = Buffer.from(r.pick(["", "null", "[]", '"x"', "1", "{", "}", "{}", "NaN", "{'a':1}", '{"a":1,}', "[1,2"]));
        break;
      default:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + r.int(1, 20)))]); // bytes dropped
    }
  }
  return buf;
}

/** Case N of seed S: { n, endpoint, parts, gapsMs, methods, action, note } */
export function makeCase(seed, n) {
  const r = rngFor(seed, n);
  const name = r.pick(Object.keys(ENDPOINTS));
  const ep = ENDPOINTS[name];
  let body = structuredClone(ep.body()); // the templates share MESSAGES and TOOLS: mutate a copy
  const notes = [];
  const mutations = r.chance(0.15) ? 0 : r.int(1, 4);
  if (body === undefined && r.chance(0.3)) body = {};
  for (let i = 0; i < mutations && body !== undefined; i++) body = mutateTree(r, body);
  let bytes = Buffer.from(serialize(body));
  if (r.chance(0.25)) {
    bytes = mutateText(r, bytes);
    notes.push("text");
  }
  // the envelope: mostly valid, sometimes not
  let method = ep.method;
  let path = ep.path;
  const headers = ["host: 127.0.0.1", "content-type: application/json"];
  if (r.chance(0.9)) headers.push(`authorization: Bearer ${API_KEY}`);
  else
    headers.push(
      r.pick([
        "authorization: Bearer wrong",
        "authorization: Bearer ",
        "authorization: Basic Zm9v",
        `x-api-key: ${API_KEY}`,
        "authorization: Bearer \u00ff",
      ]),
    );
  let framing = "length";
  let validEnvelope = true;
  if (r.chance(0.12)) {
    method = r.pick(METHODS);
    validEnvelope = method === method.toUpperCase() && /^[A-Z]+$/.test(method) && method !== "CONNECT";
    notes.push("method");
  }
  if (r.chance(0.12)) {
    path = r.pick(PATHS);
    validEnvelope &&= /^[\x21-\x7e]+$/.test(path);
    notes.push("path");
  }
  if (r.chance(0.15)) {
    for (let i = r.int(1, 3); i > 0; i--) headers.push(r.pick(JUNK_HEADERS));
    if (r.chance(0.1)) for (let i = 0; i < 300; i++) headers.push(`x-many-${i}: ${i}`);
    validEnvelope = false;
    notes.push("headers");
  }
  if (r.chance(0.15)) {
    framing = r.pick(["chunked", "chunked-bad", "none", "short", "long", "bogus", "double"]);
    if (framing !== "chunked") validEnvelope = false;
    notes.push(`framing:${framing}`);
  }
  const version = r.chance(0.05) ? r.pick(["HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "HTTP/9.9", ""]) : "HTTP/1.1";
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") validEnvelope = false;
  let wire;
  switch (framing) {
    case "chunked":
    case "chunked-bad": {
      headers.push("transfer-encoding: chunked");
      const pieces = [];
      for (let at = 0; at < bytes.length; ) {
        const k = Math.min(bytes.length - at, r.int(1, 4096));
        pieces.push(Buffer.from(`${k.toString(16)}${r.chance(0.05) ? ";ext=1" : ""}\r\n`), bytes.subarray(at, at + k), Buffer.from("\r\n"));
        at += k;
      }
      pieces.push(
        Buffer.from(framing === "chunked" ? "0\r\n\r\n" : r.pick(["zz\r\n", "5\r\nab", "0\r\n", "-1\r\n\r\n", "ffffffffffffffff\r\n"])),
      );
      wire = Buffer.concat(pieces);
      break;
    }
    case "none":
      wire = bytes;
      break;
    case "short":
      headers.push(`content-length: ${Math.max(0, bytes.length - r.int(1, 10))}`);
      wire = bytes;
      break;
    case "long":
      headers.push(`content-length: ${bytes.length + r.int(1, 1000)}`);
      wire = bytes;
      break;
    case "bogus":
      headers.push(`content-length: ${r.pick(["abc", "-1", "1e3", " ", "99999999999999999999", "0x10", "1,2"])}`);
      wire = bytes;
      break;
    case "double":
      headers.push(`content-length: ${bytes.length}`, `content-length: ${bytes.length + 1}`);
      wire = bytes;
      break;
    default:
      headers.push(`content-length: ${bytes.length}`);
      wire = bytes;
  }
  const head = Buffer.from(`${method} ${path}${version ? ` ${version}` : ""}\r\n${headers.join("\r\n")}\r\n\r\n`, "latin1");
  let parts = [Buffer.concat([head, wire])];
  const methods = [method.toUpperCase()];
  // how the client behaves
  let action = validEnvelope ? "normal" : "half-close";
  const how = r.next();
  if (validEnvelope && version === "HTTP/1.1" && how < 0.08) {
    // pipelined: this request and up to two valid ones after it, in one write
    for (let k = r.int(1, 2); k > 0; k--) {
      const other = ENDPOINTS[r.pick(["tokenize", "detokenize", "models", "health", "completions"])];
      const b = Buffer.from(serialize(other.body()));
      parts[0] = Buffer.concat([
        parts[0],
        Buffer.from(
          `${other.method} ${other.path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_KEY}\r\ncontent-length: ${b.length}\r\n\r\n`,
        ),
        b,
      ]);
      methods.push(other.method);
    }
    notes.push("pipelined");
  } else if (how < 0.16) {
    parts = split(r, parts[0], r.int(2, 12));
    notes.push("dripped");
  } else if (how < 0.22) {
    const all = parts[0];
    parts = [all.subarray(0, r.int(0, all.length - 1))];
    action = "abort-body";
    notes.push("aborted mid-request");
  } else if (how < 0.27) {
    const all = parts[0];
    parts = [all.subarray(0, r.int(0, all.length - 1))];
    action = "half-close";
    notes.push("half-closed mid-request");
  } else if (validEnvelope && how < 0.33 && (name === "chat_stream" || name === "completions_stream")) {
    action = "abort-stream";
    notes.push("aborted mid-stream");
  }
  const gapsMs = parts.map(() => (parts.length > 1 ? r.int(0, 30) : 0));
  return { n, endpoint: name, parts, gapsMs, methods, action, note: notes.join(",") || "body" };
}

function split(r, buf, k) {
  const cuts = Array.from({ length: k - 1 }, () => r.int(0, buf.length)).sort((a, b) => a - b);
  const out = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(at, c));
    at = c;
  }
  return out;
}
