#!/usr/bin/env node
// Proof that the published packages work, through a real npm registry on loopback:
//   1. starts verdaccio (a devDependency) on a free 127.0.0.1 port, its config and storage in a
//      temporary folder: our packages are kept there only; everything else is proxied to the
//      registry this npm is configured with;
//   2. `npm run publish:local -- --registry URL`: the platform package built here, the source package,
//      then llama-native; prints each package's size;
//   3. in an empty project with cmake, make, ninja and every C/C++ compiler hidden behind shims that
//      fail loudly, and a fresh npm cache: `npm install llama-native --ignore-scripts`; reports install
//      time and node_modules size (targets on linux-x64: < 10 s, < 25 MB) and which packages came;
//   4. streams a generation from ESM and from CommonJS; each must load the platform package's addon;
//   5. installs again with --omit=optional: loading must fail with the error that names the platform
//      package and the fix; and `llama-native build` against an unreachable registry must fail with
//      the message that tells how to get the source;
//   6. with --source-build: `llama-native build` inside the installed package (compilers visible)
//      fetches @llama-native/source from the registry, builds, and the package then loads that build;
//   7. stops verdaccio and removes the temporary folder (--keep leaves the folder).
// Exits non-zero when any step fails.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MB = 1048576;
const { values: flags } = parseArgs({
  options: { "source-build": { type: "boolean", default: false }, keep: { type: "boolean", default: false } },
  strict: true,
});

function fail(msg) {
  throw new Error(`registry-check: ${msg}`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout ?? ""}\n${r.stderr ?? ""}`);
  return r.stdout ?? "";
}

function du(p) {
  let n = 0;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const f = path.join(p, e.name);
    n += e.isDirectory() ? du(f) : fs.lstatSync(f).size;
  }
  return n;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(url, child, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (child.exitCode !== null) return false;
    try {
      const r = await fetch(url);
      if (r.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const platformDir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
if (!fs.existsSync(platformDir) || !fs.readdirSync(platformDir).some((f) => f.endsWith(".node"))) {
  console.error("registry-check: no prebuild for this platform yet; running npm run prebuild");
  run("npm", ["run", "prebuild"], { cwd: root, stdio: "inherit" });
}
const { platformPackageName } = await import(pathToFileURL(path.join(root, "dist", "platform.js")).href);
const platformPkg = platformPackageName();
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

const work = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-registry-"));
let verdaccio;
const stopRegistry = () => {
  if (verdaccio && verdaccio.exitCode === null) verdaccio.kill("SIGTERM");
};
process.on("exit", stopRegistry);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopRegistry();
    process.exit(1);
  });
}

try {
  // 1. the registry
  const upstream = run("npm", ["config", "get", "registry"], { cwd: root }).trim() || "https://registry.npmjs.org/";
  const regDir = path.join(work, "registry");
  fs.mkdirSync(regDir);
  const ours = `    access: $all\n    publish: $authenticated\n`;
  fs.writeFileSync(
    path.join(regDir, "config.yaml"),
    [
      `storage: ${JSON.stringify(path.join(regDir, "storage"))}`,
      // verdaccio refuses request bodies over 10 MB by default; the platform package's publish body
      // (its tarball, base64 in JSON) is larger
      "max_body_size: 500mb",
      "auth:",
      "  htpasswd:",
      `    file: ${JSON.stringify(path.join(regDir, "htpasswd"))}`,
      "uplinks:",
      "  upstream:",
      `    url: ${JSON.stringify(upstream)}`,
      "packages:",
      // ours never come from upstream: only what publish:local put here may be installed
      `  "@llama-native/*":\n${ours}  "llama-native":\n${ours}`,
      '  "**":',
      "    access: $all",
      "    publish: $authenticated",
      "    proxy: upstream",
      "log: { type: stdout, format: pretty, level: warn }",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const registry = `http://127.0.0.1:${port}/`;
  const bin = path.join(root, "node_modules", "verdaccio", "bin", "verdaccio");
  if (!fs.existsSync(bin)) fail("verdaccio is not installed: run npm ci (it is a devDependency)");
  const log = fs.openSync(path.join(regDir, "log"), "w");
  let t0 = performance.now();
  verdaccio = spawn(process.execPath, [bin, "--config", path.join(regDir, "config.yaml"), "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", log, log],
  });
  if (!(await waitFor(`${registry}-/ping`, verdaccio, 120_000))) {
    fail(`verdaccio did not come up:\n${fs.readFileSync(path.join(regDir, "log"), "utf8")}`);
  }
  console.log(
    `registry verdaccio on ${registry} (pid ${verdaccio.pid}), up in ${((performance.now() - t0) / 1000).toFixed(1)} s; other packages from ${upstream}`,
  );

  // a user for publishing (verdaccio's htpasswd auth creates it and answers with a token)
  const user = await fetch(`${registry}-/user/org.couchdb.user:ci`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "ci", password: `ci-${process.pid}-${Date.now()}`, type: "user" }),
  });
  const { token } = await user.json();
  if (!token) fail(`could not create a registry user (HTTP ${user.status})`);
  const userconfig = path.join(work, "npmrc");
  fs.writeFileSync(userconfig, `//127.0.0.1:${port}/:_authToken=${token}\n`);
  const cache = path.join(work, "npm-cache");
  const npmEnv = { ...process.env, NPM_CONFIG_USERCONFIG: userconfig, npm_config_cache: cache, npm_config_update_notifier: "false" };
  delete npmEnv.LLAMA_NATIVE_BINARY;
  delete npmEnv.LLAMA_NATIVE_SOURCE;

  // 2. publish
  t0 = performance.now();
  process.stdout.write(
    run("npm", ["run", "--silent", "publish:local", "--", "--registry", registry, "--out", path.join(work, "staged")], {
      cwd: root,
      env: npmEnv,
    }),
  );
  console.log(`publish  npm run publish:local took ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 3. install into an empty project, nothing to compile with
  const shims = path.join(work, "no-compilers");
  fs.mkdirSync(shims);
  for (const tool of ["cmake", "make", "ninja", "gcc", "g++", "cc", "c++", "clang", "clang++", "node-gyp"]) {
    fs.writeFileSync(
      path.join(shims, tool),
      `#!/bin/sh\necho "registry-check: ${tool} is hidden: nothing may be compiled here" >&2\nexit 127\n`,
      {
        mode: 0o755,
      },
    );
  }
  const noCompilers = { ...npmEnv, PATH: `${shims}${path.delimiter}${process.env.PATH}` };
  const project = (name) => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true }));
    fs.writeFileSync(path.join(dir, ".npmrc"), `registry=${registry}\n`);
    return dir;
  };
  // A first install fills verdaccio's own cache with our dependencies from upstream (node-gyp-build),
  // so the timed install below measures npm against a registry that has what it asks for, as a
  // user's would; it has its own npm cache, so the timed one starts cold.
  const warm = project("warm-up");
  t0 = performance.now();
  run("npm", ["install", "llama-native", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", path.join(work, "npm-cache-warm")], {
    cwd: warm,
    env: noCompilers,
  });
  console.log(
    `warm-up  first install (verdaccio fetching our dependencies from upstream): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const app = project("app");
  t0 = performance.now();
  const inst = spawnSync("npm", ["install", "llama-native", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: app,
    env: noCompilers,
    encoding: "utf8",
  });
  if (inst.status !== 0) fail(`npm install llama-native failed (exit ${inst.status}):\n${inst.stdout}\n${inst.stderr}`);
  const installS = (performance.now() - t0) / 1000;
  const nm = path.join(app, "node_modules");
  const installed = fs
    .readdirSync(nm)
    .flatMap((d) => (d.startsWith("@") ? fs.readdirSync(path.join(nm, d)).map((s) => `${d}/${s}`) : [d]))
    .filter((d) => !d.startsWith("."));
  const nmMB = du(nm) / MB;
  console.log(
    `install  npm install llama-native --ignore-scripts (fresh npm cache, no compilers): ${installS.toFixed(1)} s; ` +
      `node_modules ${nmMB.toFixed(1)} MB: ${installed.join(", ")}`,
  );
  const warnings = `${inst.stdout}\n${inst.stderr}`.split("\n").filter((l) => /warn|script/i.test(l));
  for (const line of warnings) console.log(`         npm: ${line}`);
  // nothing installed needs a script, so npm 11 has none to hold for approval
  if (warnings.some((l) => /install-scripts/.test(l))) fail("npm reports install scripts waiting for approval");
  if (!installed.includes(platformPkg)) fail(`${platformPkg} was not installed`);
  const strays = installed.filter((d) => d.startsWith("@llama-native/") && d !== platformPkg);
  if (strays.length) fail(`packages for other platforms were installed: ${strays.join(", ")}`);
  if (installed.includes("@llama-native/source")) fail("the source package was installed by default");
  if (process.platform === "linux" && process.arch === "x64") {
    // the issue's targets, measured on linux-x64 (the only platform built here)
    if (nmMB >= 25) fail(`node_modules is ${nmMB.toFixed(1)} MB, over the 25 MB target`);
    if (installS >= 10) console.log(`         note: install took ${installS.toFixed(1)} s, over the 10 s target (a loaded machine?)`);
  }

  // 4. stream from ESM and CommonJS
  const realModel = process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
  let model = realModel;
  if (!fs.existsSync(model)) {
    model = path.join(work, "random.gguf");
    run(process.execPath, [path.join(root, "scripts", "make-model.mjs"), model, "--output-sigma", "1"]);
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
  fs.writeFileSync(
    path.join(app, "cjs.cjs"),
    `const { loadModel, systemInfo } = require("llama-native");\n(async () => {${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`,
  );
  const fromPlatformPkg = path.join(nm, ...platformPkg.split("/"), "prebuilds") + path.sep;
  for (const f of ["esm.mjs", "cjs.cjs"]) {
    const out = JSON.parse(run(process.execPath, [f], { cwd: app, env: noCompilers }).trim().split("\n").pop());
    console.log(
      `${f.padEnd(8)} loaded ${path.relative(app, out.binary)} (backends ${out.backends.join(", ")}); ${out.tps.toFixed(0)} tokens/s; ${JSON.stringify(out.text.slice(0, 60))}`,
    );
    if (!out.binary.startsWith(fromPlatformPkg)) fail(`${f} loaded ${out.binary}, not the addon of ${platformPkg}`);
    if (!out.text.length) fail(`${f} generated nothing`);
  }

  // 5. the failure paths users meet: no platform package, no way to fetch the source
  const bare = project("omit-optional");
  run("npm", ["install", "llama-native", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: bare,
    env: noCompilers,
  });
  if (fs.existsSync(path.join(bare, "node_modules", ...platformPkg.split("/"))))
    fail("--omit=optional still installed the platform package");
  const probe = spawnSync(
    process.execPath,
    ["-e", `try { require("llama-native").systemInfo(); console.log("loaded"); } catch (e) { console.log(e.code + "\\n" + e.message); }`],
    { cwd: bare, env: noCompilers, encoding: "utf8" },
  );
  const [code, ...msg] = probe.stdout.trim().split("\n");
  const message = msg.join("\n");
  for (const want of [
    "ERR_LLAMA_BINDING",
    `${platformPkg}@${version}`,
    "--omit=optional",
    "package-lock.json",
    "npm/cli/issues/4828",
    "npm install --save-optional",
    "npx llama-native build",
  ]) {
    if (!`${code}\n${message}`.includes(want))
      fail(`after --omit=optional the load error lacks "${want}":\n${probe.stdout}${probe.stderr}`);
  }
  console.log(
    `omit     npm install --omit=optional: the load error names ${platformPkg}@${version} and the fix:\n${message
      .split("\n")
      .map((l) => `           ${l}`)
      .join("\n")}`,
  );
  const dead = await freePort(); // nothing listens there
  const offline = spawnSync(process.execPath, [path.join(bare, "node_modules", "llama-native", "bin", "llama-native.mjs"), "build"], {
    cwd: bare,
    env: { ...noCompilers, npm_config_registry: `http://127.0.0.1:${dead}/`, npm_config_fetch_retries: "0" },
    encoding: "utf8",
    timeout: 300_000,
  });
  const wantSource = `@llama-native/source@${version}`;
  if (offline.status === 0 || !offline.stderr.includes(wantSource) || !offline.stderr.includes("LLAMA_NATIVE_SOURCE")) {
    fail(`llama-native build without a reachable registry did not explain itself (exit ${offline.status}):\n${offline.stderr}`);
  }
  console.log(`offline  llama-native build with no reachable registry: exit ${offline.status}, names ${wantSource} and the ways to get it`);

  // 6. a source build inside the installed package
  if (flags["source-build"]) {
    const pkgDir = path.join(nm, "llama-native");
    const srcEnv = { ...npmEnv };
    t0 = performance.now();
    const b = spawnSync(process.execPath, [path.join(pkgDir, "bin", "llama-native.mjs"), "build"], {
      cwd: app,
      env: srcEnv,
      encoding: "utf8",
      maxBuffer: 256 << 20,
    });
    if (b.status !== 0)
      fail(`llama-native build in the installed package failed (exit ${b.status}):\n${b.stderr.split("\n").slice(-40).join("\n")}`);
    const buildS = (performance.now() - t0) / 1000;
    const fetched = path.join(pkgDir, "source", "node_modules", "@llama-native", "source");
    if (!fs.existsSync(path.join(fetched, "package.json"))) fail(`the build did not fetch the source package into ${fetched}`);
    const out = JSON.parse(run(process.execPath, ["esm.mjs"], { cwd: app, env: srcEnv }).trim().split("\n").pop());
    const local = path.join(pkgDir, "build", "Release", "llama_native.node");
    if (out.binary !== local) fail(`after a source build the package loaded ${out.binary}, not ${local}`);
    console.log(
      `source   llama-native build in the installed package: fetched ${wantSource} (${(du(path.join(pkgDir, "source")) / MB).toFixed(1)} MB with its build tools) ` +
        `and built in ${buildS.toFixed(0)} s; then loaded ${path.relative(app, out.binary)}; ${JSON.stringify(out.text.slice(0, 40))}`,
    );
  }
  console.log("registry-check: ok");
} finally {
  stopRegistry();
  if (verdaccio && verdaccio.exitCode === null) await new Promise((r) => verdaccio.once("exit", r));
  if (flags.keep) console.log(`registry-check: left ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}
