#!/usr/bin/env node
// Proof that the published package works without a compiler and without install scripts:
//   1. npm pack (after `npm run prebuild` when prebuilds/ lacks this platform);
//   2. in an empty temporary project, `npm install <tarball> --ignore-scripts` with cmake, make,
//      ninja and every C/C++ compiler hidden behind shims that fail loudly;
//   3. import the package from ESM and from CommonJS and stream a generation from each;
//   4. report tarball size, unpacked size and install time;
//   5. with --source-build: build the addon from the source inside the installed package (compilers
//      visible again, LLAMA_NATIVE_GPU unset), which must need no network, and load that build.
// Exits non-zero when any step fails or the package loaded anything but its prebuild.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MB = 1048576;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, ...opts });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    process.exit(1);
  }
  return r.stdout;
}

const platformDir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
if (!fs.existsSync(platformDir) || !fs.readdirSync(platformDir).some((f) => f.endsWith(".node"))) {
  console.error("pack-check: no prebuild for this platform yet; running npm run prebuild");
  run("npm", ["run", "prebuild"], { cwd: root, stdio: "inherit" });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-pack-"));
try {
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root }))[0];
  const tarball = path.join(work, packed.filename);
  console.log(`tarball  ${packed.filename}: ${(packed.size / MB).toFixed(1)} MB packed, ${(packed.unpackedSize / MB).toFixed(1)} MB unpacked, ${packed.entryCount} files`);

  // Shims that make any compiler or build tool fail loudly if something tries to build.
  const shims = path.join(work, "no-compilers");
  fs.mkdirSync(shims);
  for (const tool of ["cmake", "make", "ninja", "gcc", "g++", "cc", "c++", "clang", "clang++", "node-gyp"]) {
    fs.writeFileSync(path.join(shims, tool), `#!/bin/sh\necho "pack-check: ${tool} is hidden: nothing may be compiled here" >&2\nexit 127\n`, { mode: 0o755 });
  }
  const env = { ...process.env, PATH: `${shims}${path.delimiter}${process.env.PATH}` };
  delete env.LLAMA_NATIVE_BINARY;

  const app = path.join(work, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
  const t0 = performance.now();
  run("npm", ["install", tarball, "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: app, env });
  const installS = (performance.now() - t0) / 1000;
  const du = (p) => {
    let n = 0;
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      n += e.isDirectory() ? du(f) : fs.lstatSync(f).size;
    }
    return n;
  };
  console.log(`install  npm install <tarball> --ignore-scripts: ${installS.toFixed(1)} s; node_modules ${(du(path.join(app, "node_modules")) / MB).toFixed(1)} MB`);

  const realModel = process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
  let model = realModel;
  if (!fs.existsSync(model)) {
    model = path.join(work, "random.gguf");
    run(process.execPath, [path.join(root, "scripts", "make-model.mjs"), model, "--output-sigma", "1"], { env });
  }
  const body = `
    const model = await loadModel(${JSON.stringify(model)});
    const ctx = await model.createContext();
    let text = "";
    const it = ctx.generate("Once upon a time", { temperature: 0, maxTokens: 32 });
    let r = await it.next();
    while (!r.done) { text += r.value.text; r = await it.next(); }
    const info = systemInfo();
    console.log(JSON.stringify({ binary: info.binary, backends: info.backends, text, tps: r.value.timings.generatedTokens / r.value.timings.generateMs * 1000 }));
    await model.dispose();`;
  fs.writeFileSync(path.join(app, "esm.mjs"), `import { loadModel, systemInfo } from "llama-native";\n${body}\n`);
  fs.writeFileSync(path.join(app, "cjs.cjs"), `const { loadModel, systemInfo } = require("llama-native");\n(async () => {${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`);
  let ok = true;
  for (const f of ["esm.mjs", "cjs.cjs"]) {
    const out = JSON.parse(run(process.execPath, [f], { cwd: app, env }).trim().split("\n").pop());
    const fromPrebuild = out.binary.includes(`${path.sep}prebuilds${path.sep}`) && out.binary.startsWith(path.join(app, "node_modules"));
    ok &&= fromPrebuild && out.text.length > 0;
    console.log(`${f.padEnd(8)} loaded ${path.relative(app, out.binary)} (backends ${out.backends.join(", ")}); ${out.tps.toFixed(0)} tokens/s; ${JSON.stringify(out.text.slice(0, 60))}`);
  }
  if (!ok) {
    console.error("pack-check: the installed package did not stream a generation from its prebuild");
    process.exit(1);
  }
  if (process.argv.includes("--source-build")) {
    const pkg = path.join(app, "node_modules", "llama-native");
    // the build tools are the package's own dependencies: cmake-js resolves from node_modules
    const t1 = performance.now();
    const srcEnv = { ...process.env, npm_config_offline: "true" };
    delete srcEnv.LLAMA_NATIVE_BINARY;
    run(process.execPath, [path.join(pkg, "bin", "llama-native.mjs"), "build"], { cwd: app, env: srcEnv, stdio: ["ignore", "ignore", "pipe"] });
    const out = JSON.parse(run(process.execPath, ["esm.mjs"], { cwd: app, env: srcEnv }).trim().split("\n").pop());
    const local = path.join(pkg, "build", "Release", "llama_native.node");
    if (out.binary !== local) {
      console.error(`pack-check: after a source build the package loaded ${out.binary}, not ${local}`);
      process.exit(1);
    }
    console.log(`source   npx llama-native build inside the installed package: ${((performance.now() - t1) / 1000).toFixed(0)} s, then loaded ${path.relative(app, out.binary)}; ${JSON.stringify(out.text.slice(0, 40))}`);
  }
  console.log("pack-check: ok");
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
