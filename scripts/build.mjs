#!/usr/bin/env node
// Source build of the addon: cmake-js over CMakeLists.txt and the vendored llama.cpp.
//   node scripts/build.mjs [--gpu cpu|cuda|metal|vulkan] [--cuda-arch 90] [--debug] [--portable] [--out DIR]
//                          [--sanitize]  (ASan + UBSan, into build-asan/; see scripts/sanitize.mjs)
// --portable builds every CPU variant as a run-time-selected backend (the prebuild configuration).
// Environment: LLAMA_NATIVE_GPU (same values as --gpu), LLAMA_NATIVE_JOBS (parallel jobs).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { resolveSource } from "./source.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export function parseBuildArgs(argv, env = process.env) {
  const opts = { gpu: env.LLAMA_NATIVE_GPU || "", cudaArch: "", debug: false, portable: false, out: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--gpu") opts.gpu = next();
    else if (a.startsWith("--gpu=")) opts.gpu = a.slice(6);
    else if (a === "--cuda-arch") opts.cudaArch = next();
    else if (a.startsWith("--cuda-arch=")) opts.cudaArch = a.slice(12);
    else if (a === "--debug") opts.debug = true;
    else if (a === "--portable") opts.portable = true;
    else if (a === "--libdir") opts.libdir = next();
    else if (a === "--out") opts.out = next();
    else if (a === "--sanitize") opts.sanitize = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.gpu === "0" || opts.gpu === "none") opts.gpu = "cpu";
  if (opts.gpu && !["cpu", "cuda", "metal", "vulkan"].includes(opts.gpu)) {
    throw new Error(`--gpu must be one of cpu, cuda, metal, vulkan; got '${opts.gpu}'`);
  }
  if (opts.cudaArch && !/^[0-9]+[a-z]?(;[0-9]+[a-z]?)*$/.test(opts.cudaArch)) {
    throw new Error(`--cuda-arch takes CUDA architectures such as 90 or "86;89"; got '${opts.cudaArch}'`);
  }
  return opts;
}

// GPU builds go to build-<gpu>/ so that a CPU build in build/ stays usable beside them; the loader
// prefers a GPU build that finds a device and falls back to build/ (LLAMA_NATIVE_GPU=0 skips GPU builds).
export function outDir(opts) {
  if (opts.out) return path.resolve(opts.out);
  if (opts.portable) return path.join(root, "build-portable");
  if (opts.sanitize) return path.join(root, "build-asan");
  if (opts.gpu && opts.gpu !== "cpu") return path.join(root, `build-${opts.gpu}`);
  return path.join(root, "build");
}

export function build(opts) {
  // The C++ source: this checkout, or the @llama-native/source package (fetched on demand; scripts/source.mjs).
  const source = resolveSource(root);
  const fetchScript = path.join(source, "vendor", "fetch.mjs");
  if (fs.existsSync(fetchScript)) {
    const fetch = spawnSync(process.execPath, [fetchScript], { stdio: "inherit" });
    if (fetch.status !== 0) process.exit(fetch.status ?? 1);
  }

  let cmakeJs;
  try {
    cmakeJs = createRequire(path.join(source, "package.json")).resolve("cmake-js/bin/cmake-js");
  } catch {
    console.error(`llama-native build: cmake-js is not installed beside ${source}. Run: npm install cmake-js@8 node-addon-api@8`);
    process.exit(1);
  }
  const jobs = process.env.LLAMA_NATIVE_JOBS || String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  const args = ["--directory", source, "--parallel", jobs, "--log-level", "warn"];
  args.push("--out", outDir(opts));
  if (opts.debug) args.push("--debug");
  if (opts.gpu) args.push(`--CDLLAMA_NATIVE_GPU=${opts.gpu}`);
  if (opts.cudaArch) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${opts.cudaArch}`);
  if (opts.portable) args.push("--CDLLAMA_NATIVE_PORTABLE=ON");
  if (opts.libdir) args.push(`--CDLLAMA_NATIVE_LIBDIR=${opts.libdir}`);
  // The sanitizer flags themselves live in CMakeLists.txt (directory-wide options that reach every
  // llama.cpp, ggml and native/ object); flags passed here as CMAKE_CXX_FLAGS would be replaced by cmake-js's.
  if (opts.sanitize) args.push("--CDLLAMA_NATIVE_SANITIZE=ON");
  const ccache = spawnSync("ccache", ["--version"]);
  if (ccache.status === 0) {
    args.push("--CDCMAKE_C_COMPILER_LAUNCHER=ccache", "--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache");
  }
  console.error(`llama-native build: backend ${opts.gpu || "default"}, ${jobs} jobs`);
  // CCACHE_BASEDIR makes cached objects reusable across checkouts in different folders (CI clones).
  const env = { ...process.env, CCACHE_BASEDIR: process.env.CCACHE_BASEDIR ?? root };
  // Configure every time (seconds, with a cache): an incremental `build` alone would keep the options
  // of the previous configure and silently ignore changed --gpu/--portable/--libdir values.
  let r = spawnSync(process.execPath, [cmakeJs, "configure", ...args], { stdio: "inherit", cwd: root, env });
  if (r.status === 0) r = spawnSync(process.execPath, [cmakeJs, "build", ...args], { stdio: "inherit", cwd: root, env });
  if (r.status !== 0) {
    console.error(
      `llama-native build failed (exit ${r.status}). It needs cmake >= 3.19 and a C++17 compiler` +
        (opts.gpu === "cuda" ? ", plus the CUDA toolkit with cuBLAS" : "") +
        (opts.gpu === "vulkan" ? ", plus the Vulkan SDK (headers newer than 1.3.239) and glslc" : "") +
        ".",
    );
    process.exit(r.status ?? 1);
  }
  const out = outDir(opts);
  return opts.portable ? path.join(out, "bin", "llama_native.node") : path.join(out, "Release", "llama_native.node");
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseBuildArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`llama-native build: ${e.message}`);
    process.exit(2);
  }
  const out = build(opts);
  console.error(`llama-native build: wrote ${path.relative(process.cwd(), out)}`);
}
