#!/usr/bin/env node
// npm run bench: llama-native against llama.cpp's own tools and node-llama-cpp, side by side, in
// one run on this machine. Self-contained on a fresh clone: it builds the tools from the vendored
// tree, writes the bench model, installs the peer into bench/.cache/peer (never a dependency of the
// project), and prints one table of tokens/s with ratios to native (medians of --runs rounds; in
// every round each system runs once, in a fresh process, one after the other).
//
//   npm run bench -- [--runs 3] [--threads 1,2] [--models stories260K,q4_0,q8_0] [--skip-peer]
//                    [--only tg,pp,parallel,contexts,embed,load,poll,contention,server,rpc,speculative] [--json bench/.cache/results.json]
//                    [--pin fastest|none|CPU]  where the 1-thread rows run (default: the fastest core)
//                    [--write]        also put the tables into bench/RESULTS.md and redraw bench/chart.svg
//                    [--from FILE]    measure nothing: print (and --write) the tables of an earlier run
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildTools } from "../scripts/native-tools.mjs";
import { makeRandomLlama } from "../scripts/make-model.mjs";
import { compare, formatCompare, median } from "./stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const cache = path.join(here, ".cache");
const PEER_VERSION = "3.21.1";

// ---- options -------------------------------------------------------------------------------
const USAGE = fs
  .readFileSync(fileURLToPath(import.meta.url), "utf8")
  .split("\n")
  .slice(7, 12)
  .map((l) => l.slice(3))
  .join("\n");
const ALL_MODELS = ["stories260K", "q4_0", "q8_0"];
const ALL_TESTS = ["tg", "pp", "parallel", "contexts", "embed", "load", "poll", "contention", "server", "rpc", "speculative"];
const usageError = (why) => {
  console.error(`bench: ${why}\nusage:\n${USAGE}`);
  process.exit(2);
};
let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: "string", default: "3" },
      threads: { type: "string" },
      models: { type: "string", default: ALL_MODELS.join(",") },
      only: { type: "string", default: ALL_TESTS.join(",") },
      json: { type: "string" },
      from: { type: "string" },
      pin: { type: "string", default: "fastest" },
      "skip-peer": { type: "boolean", default: false },
      write: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (e) {
  usageError(e.message);
}
if (values.help) {
  console.log(`usage:\n${USAGE}`);
  process.exit(0);
}
const list = (name, allowed) => {
  const items = values[name].split(",");
  for (const x of items) if (!allowed.includes(x)) usageError(`--${name}: ${JSON.stringify(x)} is not one of ${allowed.join(", ")}`);
  return items;
};
const positiveInts = (name, text) =>
  text
    .split(",")
    .map((x) => (/^[1-9][0-9]*$/.test(x) ? Number(x) : usageError(`--${name}: ${JSON.stringify(x)} is not a positive integer`)));
const cores = os.availableParallelism?.() ?? os.cpus().length;
const RUNS = positiveInts("runs", values.runs)[0];
const THREADS = positiveInts("threads", values.threads ?? [...new Set([1, cores])].join(","));
const MODELS = list("models", ALL_MODELS);
const ONLY = new Set(list("only", ALL_TESTS));
const SKIP_PEER = values["skip-peer"];
if (!/^(fastest|none|[0-9]+)$/.test(values.pin)) usageError(`--pin: ${JSON.stringify(values.pin)} is not fastest, none or a CPU number`);
const JSON_OUT = values.json ?? path.join(cache, "results.json"); // --write publishes it as bench/results.json
const PROMPT = 512,
  GEN = 128;
const PARALLEL = [1, 4, 8],
  PAR_PROMPT = 32,
  PAR_GEN = 128;
const CONTEXTS = [2, 4];

const log = (...a) => console.error("[bench]", ...a);

// `cpu`: run the process pinned to that CPU (taskset), for the single-thread rows
function run(cmd, argv, { cwd = root, timeRss = false, cpu } = {}) {
  if (cpu !== undefined) [cmd, argv] = ["taskset", ["-c", String(cpu), cmd, ...argv]];
  const full = timeRss ? ["/usr/bin/time", ["-f", "MAXRSS_KB %M", cmd, ...argv]] : [cmd, argv];
  const r = spawnSync(full[0], full[1], { cwd, encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} exited with ${r.status}:\n${r.stderr.slice(-2000)}`);
  const rss = timeRss ? Number(/MAXRSS_KB (\d+)/.exec(r.stderr)?.[1]) / 1024 : undefined;
  return { stdout: r.stdout, stderr: r.stderr, rssMb: rss };
}

// ---- prerequisites ---------------------------------------------------------------------------
function ensureAddon() {
  if (!fs.existsSync(path.join(root, "dist", "index.mjs"))) run("npm", ["run", "build:ts"]);
}

async function ensureModels() {
  fs.mkdirSync(cache, { recursive: true });
  const models = {};
  const stories = process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
  if (MODELS.includes("stories260K")) {
    if (fs.existsSync(stories)) models.stories260K = { file: stories, vocabSize: 512, eog: [2] };
    else log(`stories260K not found at ${stories}; skipping it (set LLAMA_NATIVE_TEST_MODEL)`);
  }
  const want = MODELS.filter((m) => m === "q4_0" || m === "q8_0" || m === "f16");
  if (want.length) {
    // bench-134m: llama architecture, n_embd 768, 12 layers, 12 heads, 4 KV heads, n_ff 2048, the
    // real llama-spm vocabulary (32,000 tokens), N(0, 0.02) weights with a fixed seed, written F16
    const f16 = path.join(cache, "bench-134m-f16.gguf");
    if (!fs.existsSync(f16)) {
      log("writing bench-134m F16 (scripts/make-model.mjs)");
      await makeRandomLlama({ out: f16 + ".tmp", embd: 768, layers: 12, heads: 12, headsKv: 4, ff: 2048, ctx: 2048, type: "f16", seed: 1 });
      fs.renameSync(f16 + ".tmp", f16);
    }
    const { quantize } = await import("../dist/index.mjs");
    for (const m of want) {
      const file = path.join(cache, `bench-134m-${m}.gguf`);
      if (m !== "f16" && !fs.existsSync(file)) {
        log(`quantizing bench-134m to ${m.toUpperCase()} with llama-native's quantize()`);
        await quantize(f16, file, { type: m.toUpperCase() });
      }
      models[`bench-134m ${m.toUpperCase()}`] = { file: m === "f16" ? f16 : file, vocabSize: 32000, eog: [2] };
    }
  }
  return models;
}

function ensurePeer() {
  const dir = path.join(cache, "peer");
  const marker = path.join(dir, "node_modules", "node-llama-cpp", "package.json");
  if (!fs.existsSync(marker) || JSON.parse(fs.readFileSync(marker, "utf8")).version !== PEER_VERSION) {
    log(`installing node-llama-cpp@${PEER_VERSION} into ${path.relative(root, dir)} (CPU binary only)`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "llama-native-bench-peer", private: true, type: "module" }));
    // its optional dependencies are one prebuilt binary per platform and GPU (538 MB of CUDA);
    // the CPU one for this platform is enough
    const r = spawnSync(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--omit=optional",
        `node-llama-cpp@${PEER_VERSION}`,
        `@node-llama-cpp/${process.platform}-${process.arch}@${PEER_VERSION}`,
      ],
      { cwd: dir, stdio: "inherit" },
    );
    if (r.status !== 0) {
      log("could not install node-llama-cpp (no registry access?); its column stays empty");
      return undefined;
    }
  }
  fs.copyFileSync(path.join(here, "peer-node-llama-cpp.mjs"), path.join(dir, "peer-node-llama-cpp.mjs"));
  return dir;
}

// ---- one sample per system -----------------------------------------------------------------
function oursJob(job, cpu) {
  const r = run(process.execPath, [path.join(here, "llama-native-job.mjs"), JSON.stringify(job)], { cpu });
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}
function peerJob(dir, job, cpu) {
  const r = run(process.execPath, ["peer-node-llama-cpp.mjs", JSON.stringify(job)], { cwd: dir, cpu });
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}
function nativeBench(tools, model, threads, mode, poll = 50, cpu = undefined, reps = 1) {
  const a = ["-m", model.file, "-t", String(threads), "-r", String(reps), "-o", "json", "--poll", String(poll)];
  const r = run(
    path.join(tools, "llama-bench"),
    mode === "pp" ? [...a, "-p", String(PROMPT), "-n", "0"] : [...a, "-p", "0", "-n", String(GEN)],
    { timeRss: true, cpu },
  );
  const row = JSON.parse(r.stdout)[0];
  return { tps: row.avg_ts, rssMb: r.rssMb };
}

// The cores of a shared VM need not be equally fast: on the 2-core AMD EPYC of 2026-12-03 one core ran
// llama-bench -t 1 at ~5,900 tokens/s of stories260K and the other at ~3,900, so an unpinned 1-thread
// row measured whichever core the scheduler picked for each process. The 1-thread rows (all three
// systems) therefore run pinned to one core: the fastest by llama-bench -t 1 pinned to each, measured
// here and printed with the tables (--pin none: unpinned, --pin N: that CPU).
function choosePinnedCpu(tools, models) {
  results.machine.coreSpeeds = [];
  if (values.pin === "none") return undefined;
  const affinity = process.platform === "linux" ? spawnSync("taskset", ["-pc", String(process.pid)], { encoding: "utf8" }) : undefined;
  const list = affinity?.status === 0 ? /list:\s*([0-9,-]+)/.exec(affinity.stdout)?.[1] : undefined;
  if (!list) {
    log("taskset is not available: the 1-thread rows run unpinned");
    return undefined;
  }
  // the CPUs this process may run on ("0-3,6")
  const allowed = list.split(",").flatMap((r) => {
    const [a, b = a] = r.split("-").map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
  const model = models.stories260K ?? Object.values(models)[0];
  for (const cpu of allowed.slice(0, 16)) {
    const tps = median([0, 1, 2].map(() => nativeBench(tools, model, 1, "tg", 50, cpu, 3).tps));
    results.machine.coreSpeeds.push({ cpu, tps });
  }
  const fastest = results.machine.coreSpeeds.reduce((a, b) => (b.tps > a.tps ? b : a));
  const cpu = values.pin === "fastest" ? fastest.cpu : Number(values.pin);
  if (!allowed.includes(cpu)) usageError(`--pin: cpu${cpu} is not one this process may run on (${list})`);
  results.machine.pinned = { cpu, model: path.basename(model.file) };
  log(
    `llama-bench -t 1 tg${GEN} pinned to each CPU: ${results.machine.coreSpeeds.map((c) => `cpu${c.cpu} ${c.tps.toFixed(0)}`).join(", ")}; 1-thread rows on cpu${cpu}`,
  );
  return cpu;
}

// ---- the run -------------------------------------------------------------------------------
const results = {
  machine: machineInfo(),
  when: new Date().toISOString(),
  runs: RUNS,
  rows: [],
  parallel: [],
  contexts: [],
  embed: [],
  load: [],
  poll: [],
  contention: [],
};

// Background load for the contention test: `n` shell busy loops, each bounded to 10 minutes by
// timeout(1) so that none outlives the bench even if it is killed, and killed when the test ends.
// Each runs in its own process group and the whole group is killed: a SIGKILL to timeout(1) alone
// cannot be passed on, and its shell went on spinning through the rows that followed (before this
// fix a "0 busy" row after a "2 busy" one ran beside three leftover loops).
const busyLoops = new Set();
function startBusyLoops(n) {
  const loops = Array.from({ length: n }, () =>
    spawn("timeout", ["600", "sh", "-c", "while :; do :; done"], { stdio: "ignore", detached: true }),
  );
  for (const l of loops) busyLoops.add(l);
  return loops;
}
function stopBusyLoops(loops) {
  for (const l of loops) {
    try {
      process.kill(-l.pid, "SIGKILL");
    } catch {
      // already gone
    }
    busyLoops.delete(l);
  }
}
process.on("exit", () => stopBusyLoops([...busyLoops]));

function machineInfo() {
  const cpu = os.cpus()[0]?.model ?? "unknown";
  const flags = fs.existsSync("/proc/cpuinfo") ? (/^flags\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "") : "";
  const isa = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_int8", "amx_bf16"].filter((f) =>
    flags.split(" ").includes(f),
  );
  // the peak RSS of a Node process that does nothing: the floor under llama-native's and the peer's
  // (VmHWM as the jobs read it: maxRSS would count what fork() copied from this process). An ES
  // module like the jobs: Node's ESM loader is in both jobs' figures (until 2026-12-05 the floor was
  // a CommonJS `node -e`, 2.5 MB lower, and those 2.5 MB counted as llama-native's).
  const emptyJob = path.join(here, "empty-node-job.mjs");
  const nodeRssMb = median(
    Array.from({ length: 3 }, () => Number(spawnSync(process.execPath, [emptyJob], { encoding: "utf8" }).stdout) / 1024),
  );
  return {
    cpu,
    isa,
    cores,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    nodeRssMb,
    nodeRssOf: "bench/empty-node-job.mjs",
    platform: `${process.platform}-${process.arch}`,
  };
}

async function main() {
  const from = values.from;
  if (from) {
    publish(JSON.parse(fs.readFileSync(from, "utf8")));
    return;
  }
  ensureAddon();
  const tools = buildTools(["llama-bench", "llama-batched-bench", "llama-embedding", "llama-simple"]);
  const models = await ensureModels();
  const peer = SKIP_PEER ? undefined : ensurePeer();
  log(`machine: ${results.machine.cpu}, ${cores} cores; runs: ${RUNS}; threads: ${THREADS.join(", ")}`);
  const pin = THREADS.includes(1) && (ONLY.has("tg") || ONLY.has("pp")) ? choosePinnedCpu(tools, models) : undefined;

  for (const [name, model] of Object.entries(models)) {
    for (const threads of THREADS) {
      for (const mode of ["pp", "tg"]) {
        if (!ONLY.has(mode)) continue;
        const s = { native: [], ours: [], peer: [], rssNative: [], rssOurs: [], rssPeer: [] };
        // the context llama-bench makes for the test (n_prompt + n_gen), so that peak RSS compares
        const job = {
          mode,
          model: model.file,
          threads,
          prompt: PROMPT,
          gen: GEN,
          ctx: mode === "pp" ? PROMPT : GEN + 1,
          vocabSize: model.vocabSize,
          eog: model.eog,
        };
        const cpu = threads === 1 ? pin : undefined;
        for (let i = 0; i < RUNS; i++) {
          const n = nativeBench(tools, model, threads, mode, 50, cpu);
          s.native.push(n.tps);
          s.rssNative.push(n.rssMb);
          const o = oursJob(job, cpu);
          s.ours.push((o.tokens / o.ms) * 1000);
          s.rssOurs.push(o.maxRssMb);
          if (peer) {
            const p = peerJob(peer, job, cpu);
            s.peer.push((p.tokens / p.ms) * 1000);
            s.rssPeer.push(p.maxRssMb);
          }
        }
        const row = {
          model: name,
          threads,
          test: mode === "pp" ? `pp${PROMPT}` : `tg${GEN}`,
          native: median(s.native),
          ours: median(s.ours),
          peer: median(s.peer),
          rssNative: median(s.rssNative),
          rssOurs: median(s.rssOurs),
          rssPeer: median(s.rssPeer),
          samples: s,
        };
        results.rows.push(row);
        log(
          `${name} t=${threads} ${row.test}: native ${row.native.toFixed(1)}, llama-native ${row.ours.toFixed(1)} (${pct(row.ours, row.native)}), node-llama-cpp ${fmt(row.peer)} (${pct(row.peer, row.native)})`,
        );
      }
    }
  }

  const q4 = models["bench-134m Q4_0"] ?? Object.values(models)[0];
  const q4name = Object.entries(models).find(([, m]) => m === q4)?.[0];
  const tmax = Math.max(...THREADS);
  // Aggregate tokens/s over prompt + generation of n generations (llama-batched-bench's S t/s:
  // N x (PP + TG) / total time) for llama-batched-bench with `npl` streams, and for the Node jobs
  // in `mode`: "parallel" (n streams on one context) or "contexts" (n contexts, one stream each).
  const aggregate = (mode, n, npl) => {
    const ctxPer = PAR_PROMPT + PAR_GEN;
    const s = { native: [], ours: [], peer: [] };
    for (let i = 0; i < RUNS; i++) {
      const r = run(path.join(tools, "llama-batched-bench"), [
        "-m",
        q4.file,
        "-t",
        String(tmax),
        "-c",
        String(npl * ctxPer),
        "-b",
        "512",
        "-ub",
        "512",
        "-npp",
        String(PAR_PROMPT),
        "-ntg",
        String(PAR_GEN),
        "-npl",
        String(npl),
        "--output-format",
        "jsonl",
      ]);
      const line = (r.stdout + "\n" + r.stderr).split("\n").find((l) => l.startsWith("{"));
      s.native.push(JSON.parse(line).speed);
      const job = {
        mode,
        n,
        model: q4.file,
        threads: tmax,
        prompt: PAR_PROMPT,
        gen: PAR_GEN,
        ctx: (mode === "parallel" ? n : 1) * 256,
        vocabSize: q4.vocabSize,
        eog: q4.eog,
      };
      s.ours.push((n * ctxPer) / (oursJob(job).ms / 1000));
      if (peer) s.peer.push((n * ctxPer) / (peerJob(peer, job).ms / 1000));
    }
    return { model: q4name, threads: tmax, native: median(s.native), ours: median(s.ours), peer: median(s.peer), samples: s };
  };
  if (ONLY.has("parallel") && q4) {
    for (const n of PARALLEL) {
      const row = { streams: n, ...aggregate("parallel", n, n) };
      results.parallel.push(row);
      log(
        `${n} streams: llama-batched-bench ${row.native.toFixed(1)}, llama-native ${row.ours.toFixed(1)} (${pct(row.ours, row.native)}), node-llama-cpp ${fmt(row.peer)}`,
      );
    }
  }
  if (ONLY.has("contexts") && q4) {
    // N contexts in one process, each generating one stream at the same time with all threads
    // (the default). No batching across contexts: the best is one stream's speed, so the reference
    // is llama-batched-bench with one stream.
    for (const n of CONTEXTS) {
      const row = { contexts: n, ...aggregate("contexts", n, 1) };
      results.contexts.push(row);
      log(
        `${n} contexts: llama-batched-bench (1 stream) ${row.native.toFixed(1)}, llama-native ${row.ours.toFixed(1)} (${pct(row.ours, row.native)}), node-llama-cpp ${fmt(row.peer)}`,
      );
    }
  }

  if (ONLY.has("embed")) {
    // 64 short texts, mean pooling, one batch; embedded tokens per second (llama-native's and the
    // peer's timed around the embed calls)
    const texts = Array.from({ length: 64 }, (_, i) => `Sentence number ${i}: the quick brown fox jumps over the lazy dog ${i * 7}.`);
    for (const [name, model] of Object.entries(models)) {
      if (name.endsWith("Q8_0")) continue;
      const s = { native: [], ours: [], peer: [] };
      let tokens = 0;
      for (let i = 0; i < RUNS; i++) {
        // its log is written by a background thread and the last lines are sometimes lost at exit:
        // up to three tries
        let r;
        for (let attempt = 0; attempt < 3; attempt++) {
          r = run(path.join(tools, "llama-embedding"), [
            "-m",
            model.file,
            "-t",
            String(tmax),
            "--perf",
            "-lv",
            "4",
            "--pooling",
            "mean",
            "-c",
            "4096",
            "-b",
            "4096",
            "-ub",
            "4096",
            "--embd-output-format",
            "json",
            "-p",
            texts.join("\n"),
          ]);
          if ((r.stdout + r.stderr).includes("llama_perf_context_print")) break;
        }
        // its own perf counter misses the asynchronous compute (it reported ~1M tokens/s); its log
        // timestamps (-lv 4) bracket the batch: from "batch_decode" to the perf print, which also
        // covers printing the vectors, so this slightly favours llama-native
        const text = r.stdout + r.stderr;
        const stamp = (re) => {
          const m = new RegExp(String.raw`(\d+)\.(\d+)\.(\d+)\.(\d+) \w ${re}`).exec(text);
          if (!m) throw new Error(`llama-embedding printed no '${re}' line`);
          return Number(m[1]) * 60e3 + Number(m[2]) * 1e3 + Number(m[3]) + Number(m[4]) / 1e3;
        };
        tokens = Number(/batch_decode: n_tokens = (\d+)/.exec(text)[1]);
        s.native.push(tokens / ((stamp("llama_perf_context_print") - stamp("batch_decode")) / 1000));
        // the Node jobs: one untimed pass over the texts, then two timed (tokens/s of one pass);
        // llama-embedding's one pass is cold (its own warm-up decode is of a couple of tokens)
        const job = { mode: "embed", model: model.file, threads: tmax, ctx: 4096, texts, warmup: 1, passes: 2 };
        const o = oursJob(job);
        s.ours.push(tokens / (o.ms / 1000));
        if (peer) {
          const p = peerJob(peer, { ...job, ctx: 512 });
          s.peer.push(tokens / (p.ms / 1000));
        }
      }
      const row = {
        model: name,
        threads: tmax,
        texts: texts.length,
        tokens,
        native: median(s.native),
        ours: median(s.ours),
        peer: median(s.peer),
        samples: s,
      };
      results.embed.push(row);
      log(
        `embeddings ${name}: llama-embedding ${row.native.toFixed(0)} tok/s, llama-native ${row.ours.toFixed(0)} (${pct(row.ours, row.native)}), node-llama-cpp ${fmt(row.peer)}`,
      );
    }
  }

  if (ONLY.has("load")) {
    // load to first token, cold process each time: llama-simple's whole process (exec to exit, so an
    // upper bound for native) vs in-process time from loadModel() to the first streamed chunk
    for (const [name, model] of Object.entries(models)) {
      if (name.endsWith("Q8_0")) continue;
      const s = { native: [], ours: [], oursProcess: [], peer: [], peerProcess: [] };
      for (let i = 0; i < RUNS; i++) {
        let t = performance.now();
        run(path.join(tools, "llama-simple"), ["-m", model.file, "-n", "1", "Hello"]);
        s.native.push(performance.now() - t);
        const job = {
          mode: "tg",
          cold: true,
          model: model.file,
          threads: tmax,
          prompt: 1,
          gen: 2,
          ctx: 256,
          vocabSize: model.vocabSize,
          eog: model.eog,
        };
        t = performance.now();
        const o = oursJob(job);
        s.oursProcess.push(performance.now() - t);
        s.ours.push(o.loadToFirstTokenMs);
        if (peer) {
          t = performance.now();
          const p = peerJob(peer, job);
          s.peerProcess.push(performance.now() - t);
          s.peer.push(p.loadToFirstTokenMs);
        }
      }
      const row = {
        model: name,
        native: median(s.native),
        ours: median(s.ours),
        oursProcess: median(s.oursProcess),
        peer: peer ? median(s.peer) : null,
        peerProcess: peer ? median(s.peerProcess) : null,
        samples: s,
      };
      results.load.push(row);
      log(
        `load to first token ${name}: llama-simple process ${row.native.toFixed(0)} ms, llama-native ${row.ours.toFixed(0)} ms (whole node process ${row.oursProcess.toFixed(0)} ms), node-llama-cpp ${fmt(row.peer, 0)} ms (process ${fmt(row.peerProcess, 0)} ms)`,
      );
    }
  }

  if (ONLY.has("poll") && q4) {
    // the thread default: streamed tg at each thread count and poll level
    for (const [name, model] of Object.entries(models)) {
      if (name.endsWith("Q8_0")) continue;
      for (const threads of [...new Set([1, 2, cores])]) {
        for (const poll of [0, 50, 100]) {
          const s = [];
          for (let i = 0; i < RUNS; i++) {
            const o = oursJob({
              mode: "tg",
              model: model.file,
              threads,
              poll,
              prompt: 1,
              gen: GEN,
              ctx: 256,
              vocabSize: model.vocabSize,
              eog: model.eog,
            });
            s.push((o.tokens / o.ms) * 1000);
          }
          results.poll.push({ model: name, threads, poll, ours: median(s), samples: s });
          log(`poll sweep ${name} t=${threads} poll=${poll}: ${median(s).toFixed(1)} tok/s`);
        }
      }
    }
  }

  if (ONLY.has("contention")) {
    // streamed tg128 at the default options while 0, 1 or 2 busy loops keep cores busy, against
    // llama-bench with all threads and with one (the better of the two is the target)
    for (const [name, model] of Object.entries(models)) {
      if (name.endsWith("Q8_0")) continue;
      for (const busy of [0, 1, 2]) {
        const s = { native: [], native1: [], ours: [], peer: [] };
        const loops = startBusyLoops(busy);
        try {
          for (let i = 0; i < RUNS; i++) {
            s.native.push(nativeBench(tools, model, cores, "tg").tps);
            s.native1.push(nativeBench(tools, model, 1, "tg").tps);
            const job = { mode: "tg", model: model.file, prompt: 1, gen: GEN, ctx: GEN + 1, vocabSize: model.vocabSize, eog: model.eog };
            const o = oursJob(job);
            s.ours.push((o.tokens / o.ms) * 1000);
            if (peer) {
              const p = peerJob(peer, { ...job, threads: cores });
              s.peer.push((p.tokens / p.ms) * 1000);
            }
          }
        } finally {
          stopBusyLoops(loops);
        }
        const row = {
          model: name,
          busy,
          native: median(s.native),
          native1: median(s.native1),
          ours: median(s.ours),
          peer: median(s.peer),
          samples: s,
        };
        results.contention.push(row);
        const best = Math.max(row.native, row.native1);
        log(
          `contention ${name}, ${busy} busy: llama-bench -t ${cores} ${row.native.toFixed(1)}, -t 1 ${row.native1.toFixed(1)}, llama-native ${row.ours.toFixed(1)} (${pct(row.ours, best)} of the better), node-llama-cpp ${fmt(row.peer)}`,
        );
      }
    }
  }

  fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  fs.writeFileSync(JSON_OUT, JSON.stringify(results, null, 1) + "\n");
  log(`wrote ${path.relative(process.cwd(), JSON_OUT)}`);
  publish(results);
}

// Prints the tables; with --write also replaces the generated part of bench/RESULTS.md and redraws
// the chart from the same results.
function publish(r) {
  const tables = printTables(r);
  if (!values.write) return;
  const md = path.join(here, "RESULTS.md");
  const text = fs.readFileSync(md, "utf8");
  const start = "<!-- tables: generated by npm run bench -- --write; do not edit by hand -->";
  const end = "<!-- end of generated tables -->";
  const i = text.indexOf(start),
    j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${md} lacks the markers for the generated tables`);
  const when = `${r.when.slice(0, 16).replace("T", " ")} UTC`;
  fs.writeFileSync(
    md,
    `${text.slice(0, i + start.length)}\n\nMeasured by \`npm run bench -- --runs ${r.runs}\` on ${when}.\n\n${tables}\n\n${text.slice(j)}`,
  );
  const json = path.join(here, "results.json");
  if (path.resolve(JSON_OUT) !== json || values.from) fs.writeFileSync(json, JSON.stringify(r, null, 1) + "\n");
  spawnSync(process.execPath, [path.join(here, "chart.mjs"), json, path.join(here, "chart.svg")], { stdio: "inherit" });
  log(`updated ${path.relative(process.cwd(), md)} and bench/chart.svg`);
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const pct = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? `${((a / b) * 100).toFixed(0)} %` : "—");

export function printTables(r) {
  const out = [];
  out.push(
    `Machine: ${r.machine.cpu} (${r.machine.isa.join(", ")}), ${r.machine.cores} cores, ${r.machine.memGb} GB, Node ${r.machine.node}; medians of ${r.runs} runs; tokens/s`,
  );
  out.push(
    `Peak RSS of an empty Node process here (${r.machine.nodeRssOf ? "an ES module importing node:fs, as the jobs are: " + r.machine.nodeRssOf : "a CommonJS `node -e` script"}): ${fmt(r.machine.nodeRssMb, 1)} MB (part of llama-native's and node-llama-cpp's figures; "RSS added over cpp" is llama-native's peak less that, less llama.cpp's).`,
  );
  if (r.machine.pinned) {
    out.push(
      `The 1-thread rows run pinned to cpu${r.machine.pinned.cpu} (taskset), all three systems: llama-bench -t 1 tg${GEN} of ${r.machine.pinned.model} pinned to each core made ${r.machine.coreSpeeds.map((c) => `${fmt(c.tps, 0)} (cpu${c.cpu})`).join(", ")} tokens/s.`,
    );
  }
  out.push("");
  // every comparison of llama-native with a peer, for the count under the tables
  const tally = [];
  // no samples on a side (--skip-peer, an older results.json): no comparison (compare() is null
  // for an empty side too)
  const vs = (what, against, ours, theirs, opts) => {
    const c = ours && theirs ? compare(ours, theirs, opts) : null;
    if (c) tally.push({ what, against, c });
    return formatCompare(c);
  };
  const added = (x) => {
    const mb = x.rssOurs - (r.machine.nodeRssMb ?? NaN) - x.rssNative;
    return Number.isFinite(mb) ? `${mb >= 0 ? "+" : ""}${mb.toFixed(1)}` : "—";
  };
  if (r.rows.length) {
    out.push(
      "| model | threads | test | llama.cpp | llama-native | ratio | node-llama-cpp | ratio | ours / node-llama-cpp | peak RSS MB (cpp / ours / peer) | RSS added over cpp (MB) |",
    );
    out.push("|---|---|---|---|---|---|---|---|---|---|---|");
  }
  for (const x of r.rows) {
    const what = `${x.model} t${x.threads} ${x.test}`;
    out.push(
      `| ${x.model} | ${x.threads} | ${x.test} | ${fmt(x.native)} | ${fmt(x.ours)} | ${vs(what, "llama.cpp", x.samples?.ours, x.samples?.native)} | ${fmt(x.peer)} | ${pct(x.peer, x.native)} | ${vs(what, "node-llama-cpp", x.samples?.ours, x.samples?.peer)} | ${fmt(x.rssNative, 0)} / ${fmt(x.rssOurs, 0)} / ${fmt(x.rssPeer, 0)} | ${added(x)} |`,
    );
  }
  if (r.parallel.length) {
    out.push("");
    out.push(
      `Concurrent streams on one context (${r.parallel[0].model}, ${r.parallel[0].threads} threads, prompt ${PAR_PROMPT} + ${PAR_GEN} generated per stream; aggregate tokens/s):`,
    );
    out.push("");
    out.push("| streams | llama-batched-bench | llama-native | ratio | node-llama-cpp | ratio | ours / node-llama-cpp |");
    out.push("|---|---|---|---|---|---|---|");
    for (const x of r.parallel) {
      const what = `${x.streams} stream${x.streams === 1 ? "" : "s"}`;
      out.push(
        `| ${x.streams} | ${fmt(x.native)} | ${fmt(x.ours)} | ${vs(what, "llama-batched-bench", x.samples?.ours, x.samples?.native)} | ${fmt(x.peer)} | ${pct(x.peer, x.native)} | ${vs(what, "node-llama-cpp", x.samples?.ours, x.samples?.peer)} |`,
      );
    }
  }
  if (r.contexts?.length) {
    out.push("");
    out.push(
      `Several contexts generating at once in one process (${r.contexts[0].model}, ${r.contexts[0].threads} threads each, prompt ${PAR_PROMPT} + ${PAR_GEN} generated per context; aggregate tokens/s against one stream in llama-batched-bench):`,
    );
    out.push("");
    out.push("| contexts | llama-batched-bench, 1 stream | llama-native | ratio | node-llama-cpp | ratio | ours / node-llama-cpp |");
    out.push("|---|---|---|---|---|---|---|");
    for (const x of r.contexts)
      out.push(
        `| ${x.contexts} | ${fmt(x.native)} | ${fmt(x.ours)} | ${vs(`${x.contexts} contexts`, "llama-batched-bench", x.samples?.ours, x.samples?.native)} | ${fmt(x.peer)} | ${pct(x.peer, x.native)} | ${vs(`${x.contexts} contexts`, "node-llama-cpp", x.samples?.ours, x.samples?.peer)} |`,
      );
  }
  if (r.embed.length) {
    out.push("");
    out.push(
      "Embeddings (64 texts, mean pooling; embedded tokens/s: llama-embedding one cold pass in one batch, the Node jobs two timed passes after an untimed one, llama-native one embed() call of all texts per pass, node-llama-cpp one text at a time):",
    );
    out.push("");
    out.push("| model | tokens | llama-embedding | llama-native | ratio | node-llama-cpp | ratio | ours / node-llama-cpp |");
    out.push("|---|---|---|---|---|---|---|---|");
    for (const x of r.embed)
      out.push(
        `| ${x.model} | ${x.tokens} | ${fmt(x.native, 0)} | ${fmt(x.ours, 0)} | ${vs(`embeddings ${x.model}`, "llama-embedding", x.samples?.ours, x.samples?.native)} | ${fmt(x.peer, 0)} | ${pct(x.peer, x.native)} | ${vs(`embeddings ${x.model}`, "node-llama-cpp", x.samples?.ours, x.samples?.peer)} |`,
      );
  }
  if (r.load.length) {
    out.push("");
    out.push(
      "Load to first token, ms (whole process: exec to exit; in-process: loadModel() to the first chunk, for node-llama-cpp getLlama() to the first token):",
    );
    out.push("");
    out.push(
      "| model | llama-simple process | llama-native process | llama-native in-process | node-llama-cpp process | node-llama-cpp in-process |",
    );
    out.push("|---|---|---|---|---|---|");
    for (const x of r.load) {
      vs(`load ${x.model} (process)`, "llama-simple", x.samples?.oursProcess, x.samples?.native, { lowerIsBetter: true });
      vs(`load ${x.model} (process)`, "node-llama-cpp", x.samples?.oursProcess, x.samples?.peerProcess, {
        lowerIsBetter: true,
      });
      vs(`load ${x.model} (in-process)`, "node-llama-cpp", x.samples?.ours, x.samples?.peer, {
        lowerIsBetter: true,
      });
      out.push(
        `| ${x.model} | ${fmt(x.native, 0)} | ${fmt(x.oursProcess, 0)} | ${fmt(x.ours, 0)} | ${fmt(x.peerProcess, 0)} | ${fmt(x.peer, 0)} |`,
      );
    }
  }
  if (r.contention?.length) {
    out.push("");
    out.push(
      `Streamed tg${GEN} at the default options while busy loops (\`sh -c 'while :; do :; done'\`) keep cores busy, against llama-bench with all ${r.machine.cores} threads and with 1 (tokens/s; the target is the better of the two):`,
    );
    out.push("");
    out.push(
      `| model | busy loops | llama-bench -t ${r.machine.cores} | llama-bench -t 1 | llama-native (default) | of the better | node-llama-cpp (${r.machine.cores} threads) | ours / node-llama-cpp |`,
    );
    out.push("|---|---|---|---|---|---|---|---|");
    for (const x of r.contention) {
      // the better llama-bench of each round
      const better = x.samples?.native?.map((t, i) => Math.max(t, x.samples.native1[i] ?? NaN));
      const what = `contention ${x.model}, ${x.busy} busy`;
      out.push(
        `| ${x.model} | ${x.busy} | ${fmt(x.native)} | ${fmt(x.native1)} | ${fmt(x.ours)} | ${vs(what, "the better llama-bench", x.samples?.ours, better)} | ${fmt(x.peer)} | ${vs(what, "node-llama-cpp", x.samples?.ours, x.samples?.peer)} |`,
      );
    }
  }
  if (tally.length) {
    // the count the issue's "first on every row" is read from: every comparison above, by peer
    out.push("");
    out.push(
      'Ratios are of the medians; in brackets, the least and greatest ratio of a single round (each round runs every system once, one after the other), when the median ratio is below 100 % "tie" if some round reached 100 % and "behind" if none did. Every comparison above:',
    );
    out.push("");
    for (const against of [...new Set(tally.map((t) => t.against))]) {
      const of = tally.filter((t) => t.against === against);
      const part = (v) => of.filter((t) => t.c.verdict === v);
      const list = (v) =>
        part(v).length
          ? ` (${part(v)
              .map((t) => `${t.what}: ${formatCompare(t.c)}`)
              .join("; ")})`
          : "";
      out.push(
        `- against ${against}: ${part("ahead").length} ahead, ${part("tie").length} tied${list("tie")}, ${part("behind").length} behind${list("behind")}`,
      );
    }
  }
  if (r.poll.length) {
    out.push("");
    out.push("llama-native streamed tg128 by threads and threadPoll (tokens/s):");
    out.push("");
    const polls = [...new Set(r.poll.map((x) => x.poll))];
    out.push(`| model | threads | ${polls.map((p) => `poll ${p}`).join(" | ")} |`);
    out.push(`|---|---|${polls.map(() => "---").join("|")}|`);
    const keys = [...new Set(r.poll.map((x) => `${x.model}\u0000${x.threads}`))];
    for (const k of keys) {
      const [model, threads] = k.split("\u0000");
      out.push(
        `| ${model} | ${threads} | ${polls.map((p) => fmt(r.poll.find((x) => x.model === model && String(x.threads) === threads && x.poll === p)?.ours)).join(" | ")} |`,
      );
    }
  }
  console.log(out.join("\n"));
  return out.join("\n");
}

/** --only server: the server load test is its own script (bench/server.mjs), run after the rest. */
function serverBench() {
  const r = spawnSync(process.execPath, [path.join(here, "server.mjs"), ...(values.write ? ["--write"] : [])], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`bench/server.mjs exited with ${r.status}`);
}

/** --only rpc: local against two loopback RPC workers is its own script too (bench/rpc.mjs). */
function rpcBench() {
  const r = spawnSync(process.execPath, [path.join(here, "rpc.mjs"), ...(values.write ? ["--write"] : [])], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`bench/rpc.mjs exited with ${r.status}`);
}

/** --only speculative: with and without speculative decoding, its own script too (bench/speculative.mjs). */
function speculativeBench() {
  const args = ["--runs", String(RUNS), ...(SKIP_PEER ? ["--skip-peer"] : [])];
  if (values.threads) args.push("--threads", String(Math.max(...THREADS))); // it measures at one thread count
  const r = spawnSync(process.execPath, [path.join(here, "speculative.mjs"), ...args], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`bench/speculative.mjs exited with ${r.status}`);
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const rest = [...ONLY].filter((t) => t !== "server" && t !== "rpc" && t !== "speculative");
  (rest.length ? main() : Promise.resolve())
    .then(() => {
      if (values.from) return; // --from measures nothing (those three scripts write their own tables)
      if (ONLY.has("server")) serverBench();
      if (ONLY.has("rpc")) rpcBench();
      if (ONLY.has("speculative")) speculativeBench();
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
