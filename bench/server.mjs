#!/usr/bin/env node
// npm run bench -- --only server   (or node bench/server.mjs [--clients 1,4,8,16] [--requests 8]
//                                    [--tokens 64] [--parallel 4] [--rounds 5] [--rss-warmup 2500]
//                                    [--rss-requests 10000] [--native-args "-t 1"] [--write])
// `llama-native serve` against `llama-server` built from the same vendored tree, same model, same
// --parallel and context, in one run: C clients on loopback, each sending --requests streamed chat
// completions one after the other (bounded loops). Both servers run side by side (an idle one
// sleeps) and every round loads each once per client count, alternating which goes first: one
// load is a second or two, and on a shared 2-core VM two loads of the same server differ by up to
// 30 %. Reports the median aggregate generated tokens/s over the rounds, p50/p99 time to first
// token over all rounds' requests (first content or reasoning delta), and errors; then RSS of each server
// before and after --rss-requests short requests, counted from after --rss-warmup of them (a Node
// process sizes its V8 heap in its first two thousand or so requests: heapTotal 11 -> 48 MB while the
// live heap stays 14-26 MB; after that RSS is flat), with the cold start shown beside it.
// --write puts the table into bench/RESULTS.md.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildTools, freePort, startServer } from "../scripts/native-tools.mjs";
import { median } from "./stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1,4,8,16" },
    requests: { type: "string", default: "8" },
    tokens: { type: "string", default: "64" },
    parallel: { type: "string", default: "4" },
    rounds: { type: "string", default: "5" },
    "native-args": { type: "string", default: "" },
    "rss-warmup": { type: "string", default: "2500" },
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
const [ROUNDS] = ints(values.rounds);
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

/** CPU time a process has used, ms (user + system; /proc/PID/stat counts in 1/100 s). */
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const after = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(after[11]) + Number(after[12])) * 10;
}

/** One load: `clients` request loops at once; aggregate tokens/s, every TTFT, errors, the server's CPU ms. */
async function load(base, clients, pid) {
  const ttfts = [];
  let tokens = 0;
  const errors = [];
  const cpu0 = pid ? cpuMs(pid) : 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let k = 0; k < REQUESTS; k++) {
        const r = await ask(base, c * REQUESTS + k, TOKENS).catch((e) => ({ error: e.message }));
        if (r.error) errors.push(r.error);
        else {
          ttfts.push(r.ttft);
          tokens += r.tokens;
        }
      }
    }),
  );
  return { tps: tokens / ((performance.now() - t0) / 1000), ttfts, errors, tokens, cpu: pid ? cpuMs(pid) - cpu0 : NaN };
}

/** The rounds of one server at one client count, summed up. */
function summary(loads) {
  const ttfts = loads.flatMap((l) => l.ttfts).sort((a, b) => a - b);
  const q = (p) => ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))] ?? NaN;
  const errors = loads.flatMap((l) => l.errors);
  const cpuPerToken = loads.reduce((a, l) => a + l.cpu, 0) / loads.reduce((a, l) => a + l.tokens, 0);
  return {
    tps: median(loads.map((l) => l.tps)),
    samples: loads.map((l) => l.tps),
    p50: q(0.5),
    p99: q(0.99),
    errors: errors.length,
    firstError: errors[0],
    cpuPerToken,
  };
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
      ...values["native-args"].split(" ").filter(Boolean),
    ],
  ],
];
const results = {};
const running = [];
try {
  for (const [name, cmd, args] of servers) {
    const port = await freePort();
    const child = await start(name, cmd, args(port), port);
    running.push({ name, child, base: `http://127.0.0.1:${port}` });
    results[name] = { rows: {} };
    await load(running.at(-1).base, 2); // warm-up
  }
  const loads = Object.fromEntries(running.map((r) => [r.name, Object.fromEntries(CLIENTS.map((c) => [c, []]))]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CLIENTS) {
      const order = round % 2 ? [...running].reverse() : running;
      for (const r of order) {
        const l = await load(r.base, c, r.child.pid);
        loads[r.name][c].push(l);
        log(`round ${round + 1}, ${r.name}, ${c} clients: ${l.tps.toFixed(1)} tokens/s, ${l.errors.length} errors`);
      }
    }
  }
  for (const r of running) {
    for (const c of CLIENTS) {
      const x = summary(loads[r.name][c]);
      results[r.name].rows[c] = x;
      log(
        `${r.name}, ${c} clients: median ${x.tps.toFixed(1)} tokens/s (${x.samples.map((v) => v.toFixed(0)).join(", ")}), TTFT p50 ${x.p50.toFixed(1)} ms p99 ${x.p99.toFixed(1)} ms, server CPU ${(x.cpuPerToken * 1000).toFixed(0)} us/token, ${x.errors} errors${x.firstError ? ` (first: ${x.firstError})` : ""}`,
      );
    }
  }
  if (RSS_REQUESTS > 0) {
    for (const r of running) {
      results[r.name].rss = await rssRun(r.base, r.child.pid);
      const m = results[r.name].rss;
      log(
        `${r.name}: RSS ${m.cold.toFixed(1)} (cold) → ${m.before.toFixed(1)} after ${RSS_WARMUP} → ${m.after.toFixed(1)} MB after ${RSS_REQUESTS} more, ${m.errors} errors`,
      );
    }
  }
} finally {
  for (const r of running) {
    r.child.kill("SIGTERM");
    await new Promise((done) => (r.child.exitCode !== null ? done() : r.child.once("exit", done)));
  }
}

const ref = results["llama-server"];
const ours = results["llama-native serve"];
const lines = [
  `Streamed chat completions on loopback (${REQUESTS} per client, max_tokens ${TOKENS}, greedy), stories260K with Qwen 2.5's template, -np ${PARALLEL}, -c ${CTX}; both servers side by side, ${ROUNDS} rounds alternating which goes first: median tokens/s; the paired ratio is the median of each round's ratio (the two loads of a round run back to back, so the VM's drift between rounds cancels; lowest-highest round in brackets); TTFT over all rounds' requests; \`node bench/server.mjs --rounds ${ROUNDS}\`:`,
  "",
  "| clients | llama-server tokens/s | llama-native tokens/s | ratio | paired ratio | TTFT p50 / p99 llama-server (ms) | TTFT p50 / p99 llama-native (ms) | errors (server / native) |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...CLIENTS.map((c) => {
    const a = ref.rows[c];
    const b = ours.rows[c];
    const paired = b.samples.map((x, i) => x / a.samples[i]);
    const pct = (x) => `${(x * 100).toFixed(0)} %`;
    return `| ${c} | ${a.tps.toFixed(1)} | ${b.tps.toFixed(1)} | ${pct(b.tps / a.tps)} | ${pct(median(paired))} (${pct(Math.min(...paired))}-${pct(Math.max(...paired))}) | ${a.p50.toFixed(1)} / ${a.p99.toFixed(1)} | ${b.p50.toFixed(1)} / ${b.p99.toFixed(1)} | ${a.errors} / ${b.errors} |`;
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
