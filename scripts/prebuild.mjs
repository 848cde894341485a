#!/usr/bin/env node
// npm run prebuild: the portable CPU build, laid out as node-gyp-build resolves it:
//   prebuilds/<platform>-<arch>/llama-native.napi[.<libc>].node     the addon (N-API 8)
//   prebuilds/<platform>-<arch>/llama-native-<libc>/                 libllama, libggml*, and one
//                                                                    libggml-cpu-<variant> per CPU level
// At load time ggml picks the best CPU variant for the running CPU (GGML_BACKEND_DL +
// GGML_CPU_ALL_VARIANTS), so one prebuild runs on any x86-64 CPU and still uses AVX2/AVX-512.
//
// Why not prebuildify: it drives node-gyp only, and our build is CMake's (binding.gyp merely
// delegates). It would also copy just the one .node, not the libraries beside it. So this script
// writes prebuildify's layout itself, from the cmake-js output.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function libc() {
  if (process.platform !== "linux") return "";
  return process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl";
}

const tag = libc();
const libdir = `llama-native${tag ? `-${tag}` : "-libs"}`;
const out = path.join(root, "build-portable");
// Start from an empty output folder so no library of an earlier configuration is shipped
// (ninja relinks what is missing; objects stay cached).
fs.rmSync(path.join(out, "bin"), { recursive: true, force: true });
const r = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs"), "--portable", "--libdir", libdir, "--out", out], {
  stdio: "inherit",
});
if (r.status !== 0) process.exit(r.status ?? 1);

const built = path.join(out, "bin");
const dest = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
const addonName = `llama-native.napi${tag ? `.${tag}` : ""}.node`;
fs.mkdirSync(dest, { recursive: true });
fs.rmSync(path.join(dest, libdir), { recursive: true, force: true });
fs.rmSync(path.join(dest, addonName), { force: true });
fs.mkdirSync(path.join(dest, libdir));

// Shared libraries are copied once each, under the name the loader asks for: its soname
// (libllama.so.0), not the versioned file (libllama.so.0.4.0) or the development link (libllama.so).
// Backend modules (libggml-cpu-haswell.so) have no version and keep their name.
const versioned = /\.so\.\d+\.\d+\.\d+$/;
const soname = /\.so\.\d+$/;
const isLib = (f, full) => {
  const link = fs.lstatSync(full).isSymbolicLink();
  if (/\.(dylib|dll)$/.test(f)) return true;
  if (soname.test(f)) return true; // the soname link (or file)
  if (versioned.test(f)) return false;
  if (/\.so$/.test(f)) return !link; // a module (a link here is the development name of a versioned library)
  return false;
};
const strip = (file) => {
  if (process.platform === "linux") spawnSync("strip", ["--strip-unneeded", file]);
  else if (process.platform === "darwin") spawnSync("strip", ["-x", file]);
};
let total = 0;
const rows = [];
for (const f of fs.readdirSync(built).sort()) {
  const src = path.join(built, f);
  if (!fs.statSync(src).isFile()) continue;
  let target;
  if (f === "llama_native.node") target = path.join(dest, addonName);
  else if (isLib(f, src)) target = path.join(dest, libdir, f);
  else continue;
  // dereference symlinks (libllama.so -> libllama.so.0 ...): npm tarballs do not keep links
  fs.copyFileSync(fs.realpathSync(src), target);
  strip(target);
  const size = fs.statSync(target).size;
  total += size;
  rows.push(`${(size / 1048576).toFixed(2).padStart(7)} MB  ${path.relative(root, target)}`);
}
console.log(rows.join("\n"));
console.log(`${(total / 1048576).toFixed(2).padStart(7)} MB  total in ${path.relative(root, dest)}`);
