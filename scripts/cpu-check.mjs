#!/usr/bin/env node
// CPU portability and speed of the portable prebuild (issue: prebuilt binaries).
//   node scripts/cpu-check.mjs [MODEL.gguf] [--assert] [--no-speed] [--no-qemu]
// --assert: exit 1 unless the prebuild ran under every emulated CPU. --no-speed: skip part 2.
// --no-qemu: skip part 1. ROUNDS=N sets the alternating rounds of part 2 (default 5).
// 1. Under qemu-x86_64 emulating older CPUs (Debian's qemu-user), the prebuild loads, picks a CPU
//    variant those CPUs have, and generates; the GGML_NATIVE source build (build/Release) is run the
//    same way for contrast (it is expected to die with SIGILL on a CPU without this host's AVX-512).
// 2. On this host: streamed tokens/s of the prebuild against the GGML_NATIVE build, alternating
//    runs in separate processes, medians.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith("--")));
const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const model = path.resolve(positional[0] ?? path.join(root, "..", "shared", "models", "stories260K.gguf"));
let failures = 0;
const dir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
const prebuild = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".node"))
      .map((f) => path.join(dir, f))[0]
  : undefined;
const native = path.join(root, "build", "Release", "llama_native.node");
if (!prebuild) throw new Error("no prebuild: run npm run prebuild first");
if (!fs.existsSync(model)) throw new Error(`no model at ${model}`);

const probe = (tokens, runs) => `
const ln = require(${JSON.stringify(path.join(root, "dist", "index.js"))});
(async () => {
  const m = await ln.loadModel(${JSON.stringify(model)});
  const c = await m.createContext({ contextSize: 512 });
  const rates = []; let text = "";
  for (let i = 0; i < ${runs}; i++) {
    await c.clearCache();
    const r = await c.complete("Once upon a time", { temperature: 0, maxTokens: ${tokens} });
    rates.push(r.timings.generatedTokens / r.timings.generateMs * 1000); text = r.text;
  }
  const si = ln.systemInfo();
  let variant = "";
  try {
    const maps = require("fs").readFileSync("/proc/self/maps", "utf8").match(/libggml-cpu-([A-Za-z0-9_.]+).so/);
    variant = maps ? maps[1] : "static";
  } catch {}
  const cpu = si.llamaCppSystemInfo.match(/CPU : (.*)/);
  console.log(JSON.stringify({ rates, text, cpu: cpu ? cpu[1].replace(/ = 1/g, "").replace(/ | /g, " ").trim() : "", backends: si.backends, threadpool: c.info.threadpool, variant }));
  await m.dispose();
})().catch((e) => { console.error(e.message); process.exit(2); });`;

function runNode(binary, code, qemuCpu) {
  const env = { ...process.env, LLAMA_NATIVE_BINARY: binary };
  const cmd = qemuCpu ? "qemu-x86_64" : process.execPath;
  const args = qemuCpu ? ["-cpu", qemuCpu, process.execPath, "-e", code] : ["-e", code];
  return spawnSync(cmd, args, { encoding: "utf8", env, timeout: 600_000 });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`model ${path.basename(model)}; prebuild ${path.relative(root, prebuild)}; native ${path.relative(root, native)}\n`);
if (!flags.has("--no-qemu") && process.arch === "x64" && spawnSync("qemu-x86_64", ["--version"]).status === 0) {
  console.log("Under emulated older CPUs (qemu-x86_64 -cpu MODEL):");
  for (const cpu of ["Nehalem", "SandyBridge", "Haswell"]) {
    for (const [name, bin] of [
      ["prebuild", prebuild],
      ["native build", native],
    ]) {
      const r = runNode(bin, probe(16, 1), cpu);
      const died =
        r.signal ??
        r.stderr
          .match(/uncaught target signal (\d+) \(([^)]*)\)/)
          ?.slice(1)
          .join(" ");
      let what;
      if (r.status === 0) {
        const o = JSON.parse(r.stdout.trim().split("\n").pop());
        what = `ok: variant ${o.variant}; CPU features seen ${JSON.stringify(o.cpu)}; ${JSON.stringify(o.text.slice(0, 40))}`;
      } else {
        what = `failed (exit ${r.status}${died ? `, ${died}` : ""}): ${r.stderr.trim().split("\n").pop()}`;
        if (name === "prebuild") failures++;
      }
      console.log(`  ${cpu.padEnd(12)} ${name.padEnd(13)} ${what}`);
    }
  }
  console.log();
}

if (flags.has("--assert") && failures > 0) {
  console.error(`cpu-check: the prebuild failed under ${failures} emulated CPU(s)`);
  process.exit(1);
}

if (fs.existsSync(native) && !flags.has("--no-speed")) {
  const rounds = Number(process.env.ROUNDS ?? 5);
  const rates = { prebuild: [], native: [] };
  let chosen = "";
  for (let i = 0; i < rounds; i++) {
    for (const [name, bin] of [
      ["prebuild", prebuild],
      ["native", native],
    ]) {
      const r = runNode(bin, probe(128, 5));
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
      const o = JSON.parse(r.stdout.trim().split("\n").pop());
      rates[name].push(median(o.rates));
      if (name === "prebuild") chosen = o.variant;
    }
  }
  const p = median(rates.prebuild),
    n = median(rates.native);
  console.log(`Streamed tg128 on this host (${rounds} alternating rounds x 5 runs, medians):`);
  console.log(
    `  prebuild (portable; variant chosen at run time: ${chosen}): ${p.toFixed(0)} tokens/s  [${rates.prebuild.map((x) => x.toFixed(0)).join(" ")}]`,
  );
  console.log(
    `  native   (GGML_NATIVE source build):                    ${n.toFixed(0)} tokens/s  [${rates.native.map((x) => x.toFixed(0)).join(" ")}]`,
  );
  console.log(`  prebuild / native = ${((p / n) * 100).toFixed(1)} %`);
}
