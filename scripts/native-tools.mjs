#!/usr/bin/env node
// Builds llama.cpp's own command-line tools from the vendored tree into vendor/tools/build/bin
// (cached; git-ignored). They are the oracles the tests were recorded against and the baselines
// the benchmarks compare with.
//   node scripts/native-tools.mjs [target ...]   (default: the tools listed below)
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = path.join(root, "vendor", "llama.cpp");
const build = path.join(root, "vendor", "tools", "build");
export const toolsBin = path.join(build, "bin");
export const DEFAULT_TOOLS = ["llama-simple", "llama-embedding", "llama-tokenize", "llama-bench", "llama-batched-bench", "llama-quantize"];

function run(cmd, args) {
  // CCACHE_BASEDIR: objects compiled in another checkout of the project are reused (CI's fresh clones)
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, CCACHE_BASEDIR: process.env.CCACHE_BASEDIR ?? root } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with exit ${r.status}`);
}

export function buildTools(targets = DEFAULT_TOOLS) {
  run(process.execPath, [path.join(root, "vendor", "fetch.mjs")]);
  const missing = targets; // ninja decides what is out of date (cheap when nothing is)
  const ccache = spawnSync("ccache", ["--version"]).status === 0;
  const cache = path.join(build, "CMakeCache.txt");
  // A configuration made with other flags (an older version of this script) is started over.
  const flagsId = path.join(build, ".llama-native-flags");
  const FLAGS = "openmp-off amx-on server";
  if (fs.existsSync(cache) && (!fs.existsSync(flagsId) || fs.readFileSync(flagsId, "utf8") !== FLAGS)) fs.rmSync(cache);
  if (!fs.existsSync(cache)) {
    run("cmake", [
      "-S",
      src,
      "-B",
      build,
      "-G",
      "Ninja",
      "-DCMAKE_BUILD_TYPE=Release",
      "-DBUILD_SHARED_LIBS=OFF",
      "-DLLAMA_BUILD_TESTS=OFF",
      "-DLLAMA_BUILD_SERVER=ON",
      "-DLLAMA_BUILD_APP=OFF",
      "-DLLAMA_OPENSSL=OFF",
      "-DLLAMA_BUILD_UI=OFF",
      "-DLLAMA_USE_PREBUILT_UI=OFF",
      "-DGGML_NATIVE=ON",
      // the same threading as the addon, so comparisons measure the binding, not OpenMP vs ggml's pool
      // (the CPU backend is the same too: AMX on, fixed by vendor/patches/0003-ggml-cpu-amx-tile-config.patch)
      "-DGGML_OPENMP=OFF",
      ...(ccache ? ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"] : []),
    ]);
  }
  fs.writeFileSync(flagsId, FLAGS);
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  run("cmake", ["--build", build, "-j", jobs, "--target", ...missing]);
  return toolsBin;
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const targets = process.argv.slice(2);
  const bin = buildTools(targets.length ? targets : DEFAULT_TOOLS);
  console.error(`llama.cpp tools in ${path.relative(process.cwd(), bin)}`);
}

/** A loopback port nothing listens on now (the system picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server program (llama-server, `llama-native serve`) with `args` and resolves with its child
 * process once GET /health on `port` answers 200; rejects with the end of its stderr if it exits or
 * does not come up within `timeoutMs`.
 */
export async function startServer(cmd, args, port, { name = path.basename(cmd), timeoutMs = 60_000 } = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
  for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; ) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${err}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`${name} did not come up: ${err}`);
}

/** Stops a child started by startServer and waits for it to exit. */
export async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return; // already gone (a crash sets only signalCode)
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}
