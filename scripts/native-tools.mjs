#!/usr/bin/env node
// Builds llama.cpp's own command-line tools from the vendored tree into vendor/tools/build/bin
// (cached; git-ignored). They are the oracles the tests were recorded against and the baselines
// the benchmarks compare with.
//   node scripts/native-tools.mjs [target ...]   (default: the tools listed below)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
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
