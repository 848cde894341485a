#!/usr/bin/env node
// npm run bench -- --only server   (or node bench/server.mjs [--clients 1,4,8,16] [--requests 8]
//                                    [--tokens 64] [--parallel 4] [--rss-warmup 1000] [--rss-requests 10000] [--write])
// `llama-native serve` against `llama-server` built from the same vendored tree, same model, same
// --parallel and context, in one run: C clients on loopback, each sending --requests streamed chat
// completions one after the other (bounded loops). Reports aggregate generated tokens/s, p50/p99
// time to first token (first content or reasoning delta), and errors; then RSS of each server
// before and after --rss-requests short requests, counted from after --rss-warmup of them (a Node
// process sizes its V8 heap in its first thousand or so requests: heapTotal 11 -> 48 MB while the
// live heap stays 14-26 MB; after that RSS is flat), with the cold start shown beside it.
// --write puts the table into bench/RESULTS.md.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildTools, freePort, startServer } from "../scripts/native-tools.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1,4,8,16" },
    requests: { type: "string", default: "8" },
    tokens: { type: "string", default: "64" },
    parallel: { type: "string", default: "4" },
    "rss-warmup": { type: "string", default: "1000" },
    "rss-requests": { type: "string", default: "10000" },
    model: { type: "string" },
    write: { type: "boolean", default: false },
  },
  strict: true,
});
const ints = (s) =>
  s.split(",").map((x) => {
    if (!/^\d+$/.test(x)) throw new Error(`not a non-negative integer: ${x}`);
    return Number(x);
  });
const CLIENTS = ints(values.clients);
const [REQUESTS] = ints(values.requests);
const [TOKENS] = ints(values.tokens);
const [PARALLEL] = ints(values.parallel);
const [RSS_REQUESTS] = ints(values["rss-requests"]);
const [RSS_WARMUP] = ints(values["rss-warmup"]);
const CTX = 1024 * PARALLEL;
const log = (...a) => console.error("[bench server]", ...a);

const stories = values.model ?? process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
if (!fs.existsSync(stories)) throw new Error(`no model at ${stories} (give --model)`);
// the model with a chat template, so that both servers run the chat pipeline
const model = path.join(here, ".cache", "server-bench-chat.gguf");
fs.mkdirSync(path.dirname(model), { recursive: true });
const { makeChatModel } = await import("../scripts/make-chat-model.mjs");
await makeChatModel(
  stories,
  fs.readFileSync(path.join(root, "vendor", "llama.cpp", "models", "templates", "Qwen-Qwen2.5-7B-Instruct.jinja"), "utf8"),
  model,
);

const start = (name, cmd, args, port) => startServer(cmd, args, port, { name, timeoutMs: 120_000 });

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** One streamed chat completion: time to first delta, generated tokens, or an error. */
async function ask(base, i, maxTokens) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: `Tell me story number ${i}.` }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!r.ok) return { error: `HTTP ${r.status}` };
  let ttft;
  let tokens = 0;
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of r.body) {
    buf += dec.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n\n"); nl >= 0; nl = buf.indexOf("\n\n")) {
      const ev = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const j = JSON.parse(ev.slice(6));
      const d = j.choices?.[0]?.delta;
      if (ttft === undefined && d && (d.content || d.reasoning_content)) ttft = performance.now() - t0;
      if (j.usage) tokens = j.usage.completion_tokens;
    }
  }
  return { ttft: ttft ?? performance.now() - t0, tokens };
}

async function load(base, clients) {
  const ttfts = [];
  let tokens = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let k = 0; k < REQUESTS; k++) {
        const r = await ask(base, c * REQUESTS + k, TOKENS).catch((e) => ({ error: e.message }));
        if (r.error) errors++;
        else {
          ttfts.push(r.ttft);
          tokens += r.tokens;
        }
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  ttfts.sort((a, b) => a - b);
  const q = (p) => ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))] ?? NaN;
  return { tps: tokens / s, p50: q(0.5), p99: q(0.99), errors };
}

async function shortRequests(base, n) {
  let errors = 0;
  const per = Math.ceil(n / PARALLEL);
  await Promise.all(
    Array.from({ length: PARALLEL }, async (_, c) => {
      for (let k = 0; k < per; k++) {
        const r = await ask(base, c * per + k, 4).catch((e) => ({ error: e.message }));
        if (r.error) errors++;
      }
    }),
  );
  return errors;
}

async function rssRun(base, pid) {
  const cold = rssMb(pid);
  let errors = await shortRequests(base, RSS_WARMUP);
  const before = rssMb(pid);
  errors += await shortRequests(base, RSS_REQUESTS);
  return { cold, before, after: rssMb(pid), errors };
}

const bin = buildTools(["llama-server"]);
const servers = [
  [
    "llama-server",
    path.join(bin, "llama-server"),
    (port) => ["-m", model, "--port", String(port), "-np", String(PARALLEL), "-c", String(CTX), "--jinja", "--no-webui", "-lv", "0"],
  ],
  [
    "llama-native serve",
    process.execPath,
    (port) => [
      path.join(root, "bin", "llama-native.mjs"),
      "serve",
      "-m",
      model,
      "--port",
      String(port),
      "-np",
      String(PARALLEL),
      "-c",
      String(CTX),
    ],
  ],
];
const results = {};
for (const [name, cmd, args] of servers) {
  const port = await freePort();
  const child = await start(name, cmd, args(port), port);
  const base = `http://127.0.0.1:${port}`;
  try {
    await load(base, 2); // warm-up
    results[name] = { rows: {} };
    for (const c of CLIENTS) {
      results[name].rows[c] = await load(base, c);
      const r = results[name].rows[c];
      log(
        `${name}, ${c} clients: ${r.tps.toFixed(1)} tokens/s, TTFT p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms, ${r.errors} errors`,
      );
    }
    if (RSS_REQUESTS > 0) {
      results[name].rss = await rssRun(base, child.pid);
      const m = results[name].rss;
      log(
        `${name}: RSS ${m.cold.toFixed(1)} (cold) → ${m.before.toFixed(1)} after ${RSS_WARMUP} → ${m.after.toFixed(1)} MB after ${RSS_REQUESTS} more, ${m.errors} errors`,
      );
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const ref = results["llama-server"];
const ours = results["llama-native serve"];
const lines = [
  `Streamed chat completions on loopback (${REQUESTS} per client, max_tokens ${TOKENS}, greedy), stories260K with Qwen 2.5's template, -np ${PARALLEL}, -c ${CTX}; \`node bench/server.mjs\`:`,
  "",
  "| clients | llama-server tokens/s | llama-native tokens/s | ratio | TTFT p50 / p99 llama-server (ms) | TTFT p50 / p99 llama-native (ms) | errors (server / native) |",
  "|---:|---:|---:|---:|---:|---:|---:|",
  ...CLIENTS.map((c) => {
    const a = ref.rows[c];
    const b = ours.rows[c];
    return `| ${c} | ${a.tps.toFixed(1)} | ${b.tps.toFixed(1)} | ${((b.tps / a.tps) * 100).toFixed(0)} % | ${a.p50.toFixed(1)} / ${a.p99.toFixed(1)} | ${b.p50.toFixed(1)} / ${b.p99.toFixed(1)} | ${a.errors} / ${b.errors} |`;
  }),
];
if (ref.rss && ours.rss) {
  const pct = (m) => `${(((m.after - m.before) / m.before) * 100).toFixed(1)} %`;
  const row = (m) =>
    `${m.before.toFixed(1)} → ${m.after.toFixed(1)} MB (${pct(m)}; ${m.cold.toFixed(1)} MB before the warm-up; ${m.errors} errors)`;
  lines.push(
    "",
    `RSS over ${RSS_REQUESTS} short requests (max_tokens 4) after ${RSS_WARMUP} to warm up: llama-server ${row(ref.rss)}; llama-native ${row(ours.rss)}.`,
  );
}
console.log(lines.join("\n"));
if (values.write) {
  const file = path.join(here, "RESULTS.md");
  const begin = "<!-- server:begin -->";
  const end = "<!-- server:end -->";
  let text = fs.readFileSync(file, "utf8");
  const block = `${begin}\n## Server\n\n${lines.join("\n")}\n${end}`;
  text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
  log("wrote the Server section of bench/RESULTS.md");
}
