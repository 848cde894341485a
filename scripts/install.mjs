#!/usr/bin/env node
// `npm install` hook. For a user installing the published package this finds the prebuilt binary
// (in the platform package npm installed beside it) and does nothing; npm 11 does not run dependency
// install scripts unless approved, so nothing may depend on it. Without a working binary (in a
// checkout, or where no platform package fits) it builds the addon from source (scripts/build.mjs,
// which gets the C++ source on demand). LLAMA_NATIVE_SKIP_BUILD=1 skips the build;
// LLAMA_NATIVE_GPU=<backend> always builds that backend.
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

// The installed platform package (@llama-native/<platform>), when dist/ is there to name it.
function platformPackageDir() {
  try {
    const { platformPackageName } = require(path.join(root, "dist", "platform.js"));
    return path.dirname(require.resolve(`${platformPackageName()}/package.json`, { paths: [root] }));
  } catch {
    return null;
  }
}

function workingBinary() {
  const local = path.join(root, "build", "Release", "llama_native.node");
  if (loads(local)) return local;
  for (const base of [platformPackageDir(), root]) {
    if (!base) continue;
    const dir = path.join(base, "prebuilds", `${process.platform}-${process.arch}`);
    if (!fs.existsSync(dir)) continue;
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
