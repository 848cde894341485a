// Where a source build (`npx llama-native build`, scripts/build.mjs) finds the C++ source.
//
// The published llama-native carries no C++: its addon comes prebuilt in a platform package. The
// source of a build — CMakeLists.txt, native/, and the pinned, patched llama.cpp tree — is the package
// @llama-native/source at the same version (scripts/packages.mjs makes it; its file list is
// SOURCE_FILES there). It is looked for, in order:
//   1. LLAMA_NATIVE_SOURCE: a directory holding such a tree (an unpacked source package or a checkout);
//   2. this package itself, when it is a checkout (native/ and CMakeLists.txt beside package.json);
//   3. @llama-native/source installed where node resolves it from this package (`npm install
//      @llama-native/source@<version>` in the project: that also works offline afterwards);
//   4. <package>/source/, where an earlier build fetched it;
//   5. fetched now into <package>/source/ with `npm install` from the registry the user's npm is
//      configured with (the same one that served llama-native), together with its build tools
//      (cmake-js, node-addon-api).
// When none works, the error says what was tried and how to get the source.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** Kept equal to SOURCE_PACKAGE in src/platform.ts (test/unit/packages.test.ts checks it). */
export const SOURCE_PACKAGE = "@llama-native/source";
/** The folder inside the package where a fetched source package is installed. */
export const FETCHED_DIR = "source";

/** A directory a build can run in: the CMake project and the addon's C++ are there. */
export function isSourceTree(dir) {
  return fs.existsSync(path.join(dir, "CMakeLists.txt")) && fs.existsSync(path.join(dir, "native"));
}

function version(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
}

/**
 * The source tree for a build of the package at `root`, without fetching anything:
 * { dir, how } or { dir: undefined, tried: [...] } (each tried place and why it was passed over).
 */
export function findSource(root, env = process.env) {
  const tried = [];
  if (env.LLAMA_NATIVE_SOURCE) {
    const dir = path.resolve(env.LLAMA_NATIVE_SOURCE);
    if (isSourceTree(dir)) return { dir, how: "LLAMA_NATIVE_SOURCE" };
    tried.push(`LLAMA_NATIVE_SOURCE=${dir}: no CMakeLists.txt and native/ there`);
    return { dir: undefined, tried, explicit: true };
  }
  if (isSourceTree(root)) return { dir: root, how: "checkout" };
  const want = version(root);
  const check = (dir, how) => {
    if (!isSourceTree(dir)) {
      tried.push(`${dir}: incomplete (no CMakeLists.txt or native/)`);
      return undefined;
    }
    const have = version(dir);
    if (have !== want) {
      tried.push(`${dir}: ${SOURCE_PACKAGE}@${have}, but llama-native is ${want}`);
      return undefined;
    }
    return { dir, how };
  };
  try {
    const manifest = createRequire(path.join(root, "package.json")).resolve(`${SOURCE_PACKAGE}/package.json`);
    const found = check(path.dirname(manifest), "installed");
    if (found) return found;
  } catch {
    tried.push(`${SOURCE_PACKAGE}: not installed beside llama-native`);
  }
  const fetched = path.join(root, FETCHED_DIR, "node_modules", ...SOURCE_PACKAGE.split("/"));
  if (fs.existsSync(fetched)) {
    const found = check(fetched, "fetched");
    if (found) return found;
  } else {
    tried.push(`${path.join(root, FETCHED_DIR)}: not fetched yet`);
  }
  return { dir: undefined, tried };
}

function npm(args, opts) {
  return spawnSync("npm", args, { encoding: "utf8", shell: process.platform === "win32", ...opts });
}

/** The registry settings of the user's project (its .npmrc, env, user config), to hand on to npm. */
function registryArgs(cwd) {
  const args = [];
  for (const key of ["registry", `${SOURCE_PACKAGE.split("/")[0]}:registry`]) {
    const r = npm(["config", "get", key], { cwd });
    const value = r.status === 0 ? r.stdout.trim() : "";
    if (value && value !== "undefined" && value !== "null") args.push(`--${key}=${value}`);
  }
  return args;
}

/**
 * Installs SOURCE_PACKAGE@<llama-native's version> into <root>/source/ with npm (no install scripts).
 * Returns { dir } or { error } with npm's last lines.
 */
export function fetchSource(root, { cwd = process.cwd(), log = console.error } = {}) {
  const want = version(root);
  const spec = `${SOURCE_PACKAGE}@${want}`;
  const into = path.join(root, FETCHED_DIR);
  fs.mkdirSync(into, { recursive: true });
  fs.writeFileSync(
    path.join(into, "package.json"),
    `${JSON.stringify({ private: true, description: "the C++ source of llama-native's source builds, fetched by `llama-native build`", dependencies: { [SOURCE_PACKAGE]: want } }, null, 2)}\n`,
  );
  const reg = registryArgs(cwd);
  log(`llama-native build: fetching ${spec} (the C++ source) into ${into}`);
  const r = npm(["install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock", ...reg], { cwd: into });
  const dir = path.join(into, "node_modules", ...SOURCE_PACKAGE.split("/"));
  if (r.status !== 0 || !isSourceTree(dir)) {
    const tail = `${r.stderr ?? ""}${r.stdout ?? ""}${r.error ? String(r.error) : ""}`.trim().split("\n").filter(Boolean).slice(-4);
    return { error: tail.map((l) => `    ${l}`).join("\n"), registry: reg.find((a) => a.startsWith("--registry="))?.slice(11) };
  }
  return { dir };
}

/** The source tree for a build of the package at `root`: found, or fetched, or exit(1) with the reason. */
export function resolveSource(root, opts = {}) {
  const found = findSource(root);
  if (found.dir) return found.dir;
  if (!found.explicit) {
    const fetched = fetchSource(root, opts);
    if (fetched.dir) return fetched.dir;
    const want = version(root);
    console.error(
      [
        `llama-native build: no C++ source to build from. The llama-native package carries none; source builds use`,
        `${SOURCE_PACKAGE}@${want} (the pinned, patched llama.cpp and the addon's C++), and fetching it from`,
        `${fetched.registry ?? "the npm registry"} failed:`,
        fetched.error,
        "Looked for it in:",
        ...found.tried.map((t) => `  - ${t}`),
        "Fix: run the build again where that registry can be reached; or, while online, install it into your project",
        `(\`npm install ${SOURCE_PACKAGE}@${want}\`), where later builds find it offline; or set LLAMA_NATIVE_SOURCE to`,
        `an unpacked copy of ${SOURCE_PACKAGE}@${want} (\`npm pack ${SOURCE_PACKAGE}@${want}\` elsewhere) or a llama-native checkout.`,
      ].join("\n"),
    );
    process.exit(1);
  }
  console.error(`llama-native build: no C++ source to build from:\n${found.tried.map((t) => `  - ${t}`).join("\n")}`);
  process.exit(1);
}
