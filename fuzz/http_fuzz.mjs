#!/usr/bin/env node
// HTTP request fuzzing of the OpenAI-compatible server (src/server/): `npm run fuzz -- --only http`.
//
//   node fuzz/http_fuzz.mjs [--seconds 60] [--seed S] [--concurrency 6] [--model stories260K.gguf] [--json]
//   node fuzz/http_fuzz.mjs --seed S --case N        send case N of seed S once and show the answer
//   node fuzz/http_fuzz.mjs --replay FILE            send a saved finding again and judge it
//
// Starts createServer (fuzz/http_server.mjs, a child process) on a loopback port with stories260K
// and Qwen3's chat template, then for --seconds sends the cases of fuzz/http_cases.mjs in bursts from
// --concurrency clients at once. The oracle, per request (fuzz/http_client.mjs judge()): the server
// never crashes; no 5xx but 503 with Retry-After; every error in OpenAI's JSON error shape; no
// request hangs past --deadline-ms. After each burst the greedy chat and completion requests must
// get the answers they got first; at the end the server's RSS (after a full GC) must be within
// --rss-growth-mb of what it was a quarter into the run (once its allocators have warmed up). Findings are written to fuzz/.work/http/ as
// JSON files holding the request's bytes (and the seed and case that made them); exit status 1 when
// there is any.
import { fork } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { API_KEY, ENDPOINTS, makeCase } from "./http_cases.mjs";
import { judge, request, sendCase } from "./http_client.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: o } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    seed: { type: "string" },
    case: { type: "string" },
    replay: { type: "string" },
    concurrency: { type: "string", default: "6" },
    burst: { type: "string", default: "24" },
    model: { type: "string" },
    work: { type: "string", default: path.join(root, "fuzz", ".work", "http") },
    "deadline-ms": { type: "string", default: "30000" },
    "rss-growth-mb": { type: "string", default: "64" },
    json: { type: "boolean", default: false },
  },
  strict: true,
});
const log = (...a) => console.error("[http-fuzz]", ...a);
const seed = o.seed !== undefined ? Number(o.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const deadlineMs = Number(o["deadline-ms"]);
fs.mkdirSync(o.work, { recursive: true });

/** stories260K with Qwen3's chat template added (made once, in the work folder). */
async function chatModel() {
  const src = o.model ?? process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
  if (!fs.existsSync(src)) throw new Error(`no model at ${src}: pass --model stories260K.gguf (or set LLAMA_NATIVE_TEST_MODEL)`);
  const out = path.join(o.work, `chat-${path.basename(src)}`);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    const { withStringMetadata } = await import(path.join(root, "scripts", "make-chat-model.mjs"));
    const template = fs.readFileSync(path.join(root, "vendor", "llama.cpp", "models", "templates", "Qwen-Qwen3-0.6B.jinja"), "utf8");
    await withStringMetadata(src, `${out}.tmp`, { "tokenizer.chat_template": template });
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}

/** The server child: { port, child, exited (a promise of its exit), stderrTail() } */
function startServer(model) {
  const child = fork(path.join(root, "fuzz", "http_server.mjs"), [model], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let tail = "";
  child.stderr.on("data", (d) => {
    tail = (tail + d.toString()).slice(-8000);
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the server did not start within 120 s")), 120_000);
    child.once("message", (m) => {
      clearTimeout(t);
      resolve(m.port);
    });
    exited.then(({ code, signal }) => reject(new Error(`the server exited while starting (${code ?? signal}): ${tail}`)));
  });
  return ready.then((port) => ({ port, child, exited, stderrTail: () => tail }));
}

function rssOf(srv) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), 10_000);
    srv.child.once("message", (m) => {
      clearTimeout(t);
      resolve(m);
    });
    srv.child.send("rss");
  });
}

const auth = { authorization: `Bearer ${API_KEY}` };
/** The greedy answers a healthy server gives: chat content and completion text (503s are retried). */
async function canonical(port) {
  const ask = async (name, pick) => {
    for (let i = 0; ; i++) {
      const r = await request(port, ENDPOINTS[name].method, ENDPOINTS[name].path, ENDPOINTS[name].body(), auth);
      if (r.status === 503 && i < 100) {
        await new Promise((res) => setTimeout(res, 50));
        continue;
      }
      if (r.status !== 200) throw new Error(`${name}: status ${r.status}: ${r.text.slice(0, 300)}`);
      return pick(JSON.parse(r.text));
    }
  };
  return {
    chat: await ask("chat", (j) => j.choices[0].message.content),
    completions: await ask("completions", (j) => j.choices[0].text),
    tokenize: await ask("tokenize", (j) => JSON.stringify(j.tokens)),
    health: await ask("health", (j) => j.status),
  };
}

// ---- findings ----------------------------------------------------------------------------------
const findings = [];
const perSignature = new Map();
function record(kind, detail, c, result) {
  const signature = `${kind}: ${detail.replace(/\d+/g, "N").slice(0, 120)}`;
  const seen = perSignature.get(signature) ?? 0;
  perSignature.set(signature, seen + 1);
  findings.push({ kind, detail, case: c?.n });
  log(`FINDING ${kind}: ${detail}${c ? ` (seed ${seed} case ${c.n}: ${c.endpoint}, ${c.note}, ${c.action})` : ""}`);
  if (seen >= 3) return; // three files per distinct finding are enough to reproduce it
  const file = path.join(o.work, `${kind}-s${seed}-${c ? `c${c.n}` : `t${Date.now()}`}.json`);
  const res = result?.responses?.map((x) => ({ status: x.status, headers: x.headers, body: x.body.toString("utf8").slice(0, 4000) }));
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        kind,
        detail,
        seed,
        ...(c
          ? {
              case: c.n,
              endpoint: c.endpoint,
              note: c.note,
              action: c.action,
              methods: c.methods,
              gapsMs: c.gapsMs,
              parts: c.parts.map((p) => p.toString("base64")),
            }
          : {}),
        responses: res,
        hung: result?.hung,
        serverStderr: result?.serverStderr,
        replay: c ? `node fuzz/http_fuzz.mjs --replay ${path.relative(root, file)}  (or --seed ${seed} --case ${c.n})` : undefined,
      },
      null,
      1,
    ),
  );
}

/** Judges one case's result; returns the status label it is counted under. */
function check(c, r) {
  if (r.hung) {
    record("hang", `no answer and no close within ${deadlineMs} ms`, c, r);
    return "hung";
  }
  if (c.action === "abort-body" || c.action === "abort-stream") return "client-aborted";
  for (const [i, res] of r.responses.entries()) {
    const problem = judge(res, c.methods[i], c.action);
    if (problem) record(res.status >= 500 ? "5xx" : "shape", problem, c, r);
  }
  if (r.garbage) record("framing", `unparseable response: ${JSON.stringify(String(r.garbage).slice(0, 80))}`, c, r);
  const complete = c.action === "normal" && !c.note.includes("method") && !c.note.includes("path") && !c.note.includes("text");
  // fewer answers than requests only after an answer that closes the connection (connection: close)
  const closing = r.responses.at(-1)?.headers.connection === "close";
  if (complete && r.responses.length < c.methods.length && !closing)
    record("no-answer", `${r.responses.length} answers to ${c.methods.length} well-formed requests`, c, r);
  return r.responses.length ? String(r.responses[0].status) : "closed";
}

async function replay(c) {
  const srv = await startServer(await chatModel());
  const r = await sendCase(srv.port, c, deadlineMs);
  for (const res of r.responses) console.log(res.status, JSON.stringify(res.headers), res.body.toString("utf8").slice(0, 2000));
  const label = check(c, r);
  console.log(`=> ${label}${r.hung ? " (hung)" : ""}${r.error ? ` (${r.error})` : ""}; findings: ${findings.length}`);
  srv.child.kill();
  process.exitCode = findings.length ? 1 : 0;
}

async function main() {
  if (o.replay) {
    const f = JSON.parse(fs.readFileSync(o.replay, "utf8"));
    if (!f.parts)
      throw new Error(`${o.replay} is a ${f.kind} finding of the run as a whole (${f.detail}), not of one request: rerun --seed ${f.seed}`);
    return replay({
      n: f.case,
      endpoint: f.endpoint,
      note: f.note,
      action: f.action,
      methods: f.methods,
      gapsMs: f.gapsMs,
      parts: f.parts.map((p) => Buffer.from(p, "base64")),
    });
  }
  if (o.case !== undefined) return replay(makeCase(seed, Number(o.case)));
  const seconds = Number(o.seconds);
  const concurrency = Number(o.concurrency);
  const burst = Number(o.burst);
  log(`seed ${seed}, ${seconds} s, ${concurrency} clients, bursts of ${burst}; findings go to ${path.relative(root, o.work)}`);
  const model = await chatModel();
  let srv = await startServer(model);
  const first = await canonical(srv.port);
  log(
    `first greedy answers: chat ${JSON.stringify(first.chat.slice(0, 60))}..., completion ${JSON.stringify(first.completions.slice(0, 60))}...`,
  );
  const counts = { requests: 0, cases: 0, bursts: 0, restarts: 0, status: {}, endpoint: {}, action: {} };
  const bump = (m, k) => {
    m[k] = (m[k] ?? 0) + 1;
  };
  const end = Date.now() + seconds * 1000;
  const warm = Date.now() + seconds * 250;
  let next = 0;
  let rssStart;
  let crashed;
  const trace = []; // [cases, RSS, V8 heap used, external] in MiB every 50 bursts
  while (Date.now() < end) {
    const inFlight = new Set();
    const running = srv;
    let crash;
    running.exited.then((e) => {
      crash ??= e;
    });
    const worker = async () => {
      while (!crash && Date.now() < end) {
        if (next >= (counts.bursts + 1) * burst) return;
        const c = makeCase(seed, next++);
        inFlight.add(c);
        const r = await sendCase(running.port, c, deadlineMs);
        inFlight.delete(c);
        if (crash) {
          inFlight.add(c);
          return;
        }
        counts.cases++;
        counts.requests += c.methods.length;
        bump(counts.endpoint, c.endpoint);
        bump(counts.action, c.action);
        bump(counts.status, check(c, r));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (crash) {
      crashed = true;
      for (const c of inFlight)
        record("crash", `the server exited (${crash.code ?? crash.signal}) with this request in flight`, c, {
          serverStderr: running.stderrTail(),
        });
      counts.restarts++;
      srv = await startServer(model);
    }
    counts.bursts++;
    // a valid request after each burst still gets its first answer
    try {
      const now = await canonical(srv.port);
      for (const k of Object.keys(first))
        if (now[k] !== first[k]) record("answer", `${k} answered ${JSON.stringify(now[k])}, first ${JSON.stringify(first[k])}`);
    } catch (e) {
      record("answer", `the canonical requests failed after burst ${counts.bursts}: ${e.message}`);
    }
    // the baseline once the allocators have warmed up: a quarter into the run
    if (rssStart === undefined && Date.now() >= warm) rssStart = (await rssOf(srv))?.rss;
    if (counts.bursts % 50 === 0) {
      const m = await rssOf(srv);
      if (m)
        trace.push([counts.cases, +(m.rss / 2 ** 20).toFixed(1), +(m.heapUsed / 2 ** 20).toFixed(1), +(m.external / 2 ** 20).toFixed(1)]);
    }
  }
  const rssEnd = (await rssOf(srv))?.rss;
  const growthMb = rssStart && rssEnd ? (rssEnd - rssStart) / 2 ** 20 : undefined;
  if (!crashed && growthMb !== undefined && growthMb > Number(o["rss-growth-mb"]))
    record(
      "memory",
      `RSS grew by ${growthMb.toFixed(1)} MiB (from ${(rssStart / 2 ** 20).toFixed(1)} to ${(rssEnd / 2 ** 20).toFixed(1)} MiB)`,
    );
  srv.child.send("close");
  const exit = await Promise.race([srv.exited, new Promise((r) => setTimeout(() => r(undefined), 15_000))]);
  if (!exit) {
    record("close", "the server did not close within 15 s of close()");
    srv.child.kill("SIGKILL");
  } else if (exit.code !== 0)
    record("close", `the server exited with ${exit.code ?? exit.signal} on close: ${srv.stderrTail().slice(-2000)}`);
  const kinds = {};
  for (const f of findings) bump(kinds, f.kind);
  const summary = {
    seed,
    seconds,
    ...counts,
    rssStartMb: rssStart && +(rssStart / 2 ** 20).toFixed(1),
    rssEndMb: rssEnd && +(rssEnd / 2 ** 20).toFixed(1),
    memoryTrace: trace,
    findings: findings.length,
    findingKinds: kinds,
    distinctFindings: [...perSignature.keys()],
  };
  fs.writeFileSync(path.join(o.work, "summary.json"), JSON.stringify(summary, null, 1));
  const sorted = (m) =>
    Object.entries(m)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  log(`${counts.requests} requests in ${counts.cases} cases, ${counts.bursts} bursts, ${counts.restarts} server restarts (seed ${seed})`);
  log(`per status: ${sorted(counts.status)}`);
  log(`per endpoint: ${sorted(counts.endpoint)}`);
  log(`per client behaviour: ${sorted(counts.action)}`);
  log(
    `server RSS a quarter into the run ${summary.rssStartMb} MiB, at the end ${summary.rssEndMb} MiB (bound: +${o["rss-growth-mb"]} MiB)`,
  );
  log(`memory every 50 bursts [cases, RSS, V8 heap used, external MiB]: ${JSON.stringify(trace)}`);
  log(`findings: ${findings.length}${findings.length ? ` (${sorted(kinds)}); distinct:\n  ${summary.distinctFindings.join("\n  ")}` : ""}`);
  if (o.json) console.log(JSON.stringify(summary));
  process.exitCode = findings.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
