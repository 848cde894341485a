#!/usr/bin/env node
// `npm install` hook of a checkout: materializes vendor/llama.cpp and builds the addon from source
// when no working binary is present. The published llama-native has no install script (its binary
// comes in a platform package; scripts/packages.mjs leaves the hook out). LLAMA_NATIVE_SKIP_BUILD=1
// skips the build; LLAMA_NATIVE_GPU=<backend> always builds that backend.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

function loads(file) {
  if (!fs.existsSync(file)) return false;
  try {
    return typeof require(file)?.Model?.load === "function";
  } catch {
    return false;
  }
}

function workingBinary() {
  const local = path.join(root, "build", "Release", "llama_native.node");
  if (loads(local)) return local;
  const dir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".node") && loads(path.join(dir, f))) return path.join(dir, f);
  }
  return null;
}

if (process.env.LLAMA_NATIVE_SKIP_BUILD === "1") process.exit(0);
const found = workingBinary();
if (found && !process.env.LLAMA_NATIVE_GPU) {
  console.error(`llama-native: using ${path.relative(root, found)}`);
  process.exit(0);
}
const r = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { stdio: "inherit" });
process.exit(r.status ?? 1);
