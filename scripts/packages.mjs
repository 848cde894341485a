#!/usr/bin/env node
// Makes the packages a release publishes, from this checkout, in publish order:
//   @llama-native/<platform>   one per prebuild found under prebuilds/ (`npm run prebuild` writes
//                              them; the release workflow merges every platform's): that platform's
//                              addon and libraries in node-gyp-build's layout, with os/cpu/libc set
//   @llama-native/source       the C++ a source build needs (SOURCE_FILES below); `npx llama-native
//                              build` fetches it on demand (scripts/source.mjs)
//   llama-native               JavaScript, types, CLI, docs; no binary, no C++; every platform package
//                              in optionalDependencies, all at the same version
//
//   node scripts/packages.mjs [--out DIR] [--prebuilds DIR] [--pack]
// stages each package in DIR/<id>/ (default packages/, emptied first) and prints its size; --pack also
// runs `npm pack` on each (tarballs in DIR, and DIR/order.json: their file names in publish order).
// scripts/publish-local.mjs publishes what this stages.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const MB = 1048576;

/**
 * What @llama-native/source carries: paths from the checkout's root, a folder as `dir/`, `!` to
 * leave out (`*` matches within one path segment, `**` across segments). This is the one list a
 * source build's files come from: to compile another part of llama.cpp into the addon, add its
 * folder here (one line, e.g. "vendor/llama.cpp/common/").
 */
export const SOURCE_FILES = [
  "CMakeLists.txt",
  "native/",
  "vendor/fetch.mjs",
  "vendor/llama.cpp.json",
  "vendor/patches/",
  "vendor/llama.cpp/.llama-native-pin",
  "vendor/llama.cpp/CMakeLists.txt",
  "vendor/llama.cpp/LICENSE",
  "vendor/llama.cpp/cmake/",
  "vendor/llama.cpp/include/",
  "vendor/llama.cpp/src/",
  "vendor/llama.cpp/common/",
  "vendor/llama.cpp/ggml/",
  "vendor/llama.cpp/vendor/",
  "vendor/llama.cpp/licenses/",
  // mtmd (images and audio): its library sources only, not its CLI's test media or docs
  "vendor/llama.cpp/tools/mtmd/",
  "!vendor/llama.cpp/tools/mtmd/test-*",
  "!vendor/llama.cpp/tools/mtmd/tests/",
  "!vendor/llama.cpp/tools/mtmd/tests.sh",
  "!vendor/llama.cpp/tools/mtmd/legacy-models/",
  // mtmd.cpp includes debug/mtmd-debug.h; its .cpp (a debugging tool) is not compiled
  "!vendor/llama.cpp/tools/mtmd/debug/*.cpp",
  "!vendor/llama.cpp/tools/mtmd/debug/*.md",
  "!vendor/llama.cpp/tools/mtmd/*.md",
  "!vendor/llama.cpp/tools/mtmd/requirements.txt",
  "!vendor/llama.cpp/ggml/src/ggml-cuda/vendors/hip*",
  "!vendor/llama.cpp/ggml/src/ggml-opencl/",
  "!vendor/llama.cpp/ggml/src/ggml-sycl/",
  "!vendor/llama.cpp/ggml/src/ggml-hexagon/",
  "!vendor/llama.cpp/ggml/src/ggml-et/",
  "!vendor/llama.cpp/ggml/src/ggml-webgpu/",
  "!vendor/llama.cpp/ggml/src/ggml-openvino/",
  "!vendor/llama.cpp/ggml/src/ggml-cann/",
  "!vendor/llama.cpp/ggml/src/ggml-virtgpu/",
  "!vendor/llama.cpp/ggml/src/ggml-zendnn/",
  "!vendor/llama.cpp/ggml/src/ggml-zdnn/",
  "!vendor/llama.cpp/ggml/src/ggml-musa/",
  "!vendor/llama.cpp/ggml/src/ggml-hip/",
  "!vendor/llama.cpp/vendor/cpp-httplib/",
  "!vendor/llama.cpp/vendor/sheredom/*.h",
];

// Never copied: version control and npm's own ignore files (a .gitignore in a staged folder would
// make npm pack drop files from it).
const ALWAYS_SKIP = new Set([".git", ".gitignore", ".npmignore", "node_modules", ".DS_Store"]);

function globToRegExp(glob) {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else re += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return re;
}

/** A predicate for the `!` patterns of a file list: true when a relative path is left out. */
export function excluder(patterns) {
  const res = patterns
    .filter((p) => p.startsWith("!"))
    .map((p) => p.slice(1))
    .map((p) => (p.endsWith("/") ? new RegExp(`^${globToRegExp(p)}`) : new RegExp(`^${globToRegExp(p)}(/|$)`)));
  return (rel) => res.some((re) => re.test(rel));
}

/** Copies the files a list names (npm `files` style, see SOURCE_FILES) from `from` to `to`; returns their relative paths. */
export function copyFiles(from, to, patterns) {
  const excluded = excluder(patterns);
  const copied = [];
  const visit = (rel) => {
    const src = path.join(from, rel);
    if (ALWAYS_SKIP.has(path.basename(rel)) || excluded(rel.split(path.sep).join("/"))) return;
    const st = fs.statSync(src); // follows links: npm tarballs hold no links
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(src).sort()) visit(path.join(rel, e));
    } else if (st.isFile()) {
      fs.mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
      fs.copyFileSync(src, path.join(to, rel));
      fs.chmodSync(path.join(to, rel), st.mode & 0o777);
      copied.push(rel.split(path.sep).join("/"));
    }
  };
  for (const p of patterns.filter((p) => !p.startsWith("!"))) {
    const rel = p.replace(/\/$/, "");
    if (!fs.existsSync(path.join(from, rel))) throw new Error(`${rel} is listed but missing in ${from}`);
    visit(rel);
  }
  return copied;
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function platformModule() {
  try {
    return require(path.join(root, "dist", "platform.js"));
  } catch {
    throw new Error("dist/platform.js is missing: run `npm run build:ts` first");
  }
}

/** The libraries folder prebuild.mjs writes beside an addon (llama-native-<libc>, or -libs off Linux). */
function libdirOf(tags) {
  return `llama-native-${tags.libc ?? "libs"}`;
}

/**
 * One package per addon under prebuildsDir/<platform>-<arch>/ (glibc and musl addons of one
 * platform share that folder and split here). Returns [{ name, id, dir, files }].
 */
export function stagePlatformPackages({ prebuildsDir, out, version, engines, licenses }) {
  const { PLATFORM_TARGETS, PACKAGE_SCOPE, platformId } = platformModule();
  const ngb = require("node-gyp-build");
  const made = [];
  if (!fs.existsSync(prebuildsDir)) return made;
  for (const folder of fs.readdirSync(prebuildsDir).sort()) {
    const m = /^([a-z0-9]+)-([a-z0-9]+)$/.exec(folder);
    if (!m) continue;
    const [, os, cpu] = m;
    for (const addon of fs
      .readdirSync(path.join(prebuildsDir, folder))
      .filter((f) => f.endsWith(".node"))
      .sort()) {
      const tags = ngb.parseTags(addon);
      if (!tags?.napi) throw new Error(`${folder}/${addon}: not a prebuild name node-gyp-build resolves (llama-native.napi[.<libc>].node)`);
      if (os === "linux" && !tags.libc) throw new Error(`${folder}/${addon}: a Linux prebuild must name its libc (.glibc. or .musl.)`);
      const libc = os === "linux" ? tags.libc : undefined;
      const id = platformId(os, cpu, libc ?? "");
      const target = PLATFORM_TARGETS.find((t) => t.id === id);
      if (!target) throw new Error(`${folder}/${addon}: ${id} is not in PLATFORM_TARGETS (src/platform.ts); add it there first`);
      const name = `${PACKAGE_SCOPE}/${id}`;
      const dir = path.join(out, id);
      if (fs.existsSync(dir)) throw new Error(`two prebuilds for ${id} in ${prebuildsDir}`);
      const dest = path.join(dir, "prebuilds", folder);
      fs.mkdirSync(dest, { recursive: true });
      fs.copyFileSync(path.join(prebuildsDir, folder, addon), path.join(dest, addon));
      const files = [`prebuilds/${folder}/${addon}`];
      const libdir = libdirOf(tags);
      if (fs.existsSync(path.join(prebuildsDir, folder, libdir))) {
        files.push(...copyFiles(path.join(prebuildsDir, folder), dest, [libdir]).map((f) => `prebuilds/${folder}/${f}`));
      }
      const what = `${os}-${cpu}${libc ? ` (${libc})` : ""}`;
      writeJson(path.join(dir, "package.json"), {
        name,
        version,
        description: `The prebuilt llama-native addon for ${what}; installed by llama-native as an optional dependency`,
        license: "MIT",
        type: "commonjs",
        os: [os],
        cpu: [cpu],
        ...(libc ? { libc: [libc] } : {}),
        ...(engines ? { engines } : {}),
        files: ["prebuilds/"],
        preferUnplugged: true,
      });
      fs.writeFileSync(
        path.join(dir, "README.md"),
        `# ${name}\n\nThe prebuilt native addon of [llama-native](https://www.npmjs.com/package/llama-native) ${version} for ${what}:\n` +
          `llama.cpp's libraries and the addon, in node-gyp-build's layout (\`prebuilds/${folder}/\`).\n\n` +
          "Do not depend on it directly: `npm install llama-native` installs the one package that matches the machine\n" +
          "(it is in llama-native's `optionalDependencies`, and its `os`/`cpu`/`libc` fields select it).\n",
      );
      for (const [from, as] of licenses) fs.copyFileSync(from, path.join(dir, as));
      made.push({ name, id, dir, files });
    }
  }
  return made;
}

/** Stages every package in out/ (emptied first); returns them in publish order. */
export function stagePackages({ out = path.join(root, "packages"), prebuildsDir = path.join(root, "prebuilds") } = {}) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const { PLATFORM_TARGETS, PACKAGE_SCOPE, SOURCE_PACKAGE } = platformModule();
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const llamaLicense = path.join(root, "vendor", "llama.cpp", "LICENSE");
  if (!fs.existsSync(llamaLicense)) throw new Error("vendor/llama.cpp is missing: run `node vendor/fetch.mjs` first");
  const licenses = [
    [path.join(root, "LICENSE"), "LICENSE"],
    [llamaLicense, "LICENSE-llama.cpp"],
  ];

  const platforms = stagePlatformPackages({ prebuildsDir, out, version: pkg.version, engines: pkg.engines, licenses });

  // The source package: buildable on its own (cmake-js reads `binary` from its package.json and
  // resolves node-addon-api beside it), with the build tools as its dependencies.
  const check = spawnSync(process.execPath, [path.join(root, "vendor", "fetch.mjs"), "--check"], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`vendor/llama.cpp is not the pinned, patched tree: ${check.stderr.trim()}`);
  const sourceDir = path.join(out, "source");
  const sourceFiles = copyFiles(root, sourceDir, SOURCE_FILES);
  writeJson(path.join(sourceDir, "package.json"), {
    name: SOURCE_PACKAGE,
    version: pkg.version,
    description: "The C++ source of llama-native (its addon and the pinned, patched llama.cpp) for `npx llama-native build`",
    license: "MIT",
    type: "commonjs",
    binary: pkg.binary,
    dependencies: { "cmake-js": pkg.devDependencies["cmake-js"], "node-addon-api": pkg.devDependencies["node-addon-api"] },
  });
  fs.copyFileSync(path.join(root, "LICENSE"), path.join(sourceDir, "LICENSE"));
  fs.writeFileSync(
    path.join(sourceDir, "README.md"),
    `# ${SOURCE_PACKAGE}\n\nThe C++ source of [llama-native](https://www.npmjs.com/package/llama-native) ${pkg.version}: CMakeLists.txt, the addon (native/)\n` +
      `and llama.cpp at the pinned commit with the project's patches applied (vendor/llama.cpp/; its licence is\n` +
      "vendor/llama.cpp/LICENSE). `npx llama-native build` fetches it when it builds the addon from source; install it\n" +
      "into a project (`npm install " +
      `${SOURCE_PACKAGE}@${pkg.version}\`) to have it there for offline builds.\n`,
  );

  // The main package: the checkout's manifest without what only a checkout needs, plus the platform
  // packages. They are not in the checkout's package.json: `npm ci` here would otherwise ask the
  // registry for this version's binaries, which exist only once it is released.
  const mainDir = path.join(out, "llama-native");
  const mainFiles = copyFiles(root, mainDir, pkg.files);
  const main = { ...pkg };
  delete main.devDependencies;
  delete main.overrides;
  // No install script: the binary comes in the platform package, and npm 11 would only list a script
  // as waiting for approval (`npm warn install-scripts`) on every install. A checkout keeps its hook.
  // (binding.gyp stays out of every package for the same reason: beside no install script, npm
  // would add `node-gyp rebuild` as one.)
  delete main.scripts;
  main.optionalDependencies = Object.fromEntries(PLATFORM_TARGETS.map((t) => [`${PACKAGE_SCOPE}/${t.id}`, pkg.version]));
  writeJson(path.join(mainDir, "package.json"), main);

  for (const dir of [...platforms.map((p) => p.dir), sourceDir, mainDir]) {
    if (fs.existsSync(path.join(dir, "binding.gyp"))) throw new Error(`${dir} holds binding.gyp: npm would run node-gyp on install`);
  }
  return [
    ...platforms.map((p) => ({ ...p, kind: "platform" })),
    { name: SOURCE_PACKAGE, id: "source", dir: sourceDir, files: sourceFiles, kind: "source" },
    { name: pkg.name, id: "llama-native", dir: mainDir, files: mainFiles, kind: "main" },
  ];
}

function duBytes(p) {
  let n = 0;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const f = path.join(p, e.name);
    n += e.isDirectory() ? duBytes(f) : fs.statSync(f).size;
  }
  return n;
}

/** `npm pack` of a staged package into dest: { file, size, unpackedSize, entryCount }. */
export function pack(dir, dest) {
  const r = spawnSync("npm", ["pack", "--json", "--pack-destination", dest], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    shell: process.platform === "win32",
  });
  if (r.status !== 0) throw new Error(`npm pack in ${dir} failed:\n${r.stderr}`);
  const j = JSON.parse(r.stdout)[0];
  return { file: path.join(dest, j.filename), size: j.size, unpackedSize: j.unpackedSize, entryCount: j.entryCount };
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: "string" }, prebuilds: { type: "string" }, pack: { type: "boolean", default: false } },
    strict: true,
  });
  const out = path.resolve(values.out ?? path.join(root, "packages"));
  const staged = stagePackages({ out, prebuildsDir: values.prebuilds ? path.resolve(values.prebuilds) : undefined });
  if (!staged.some((p) => p.kind === "platform"))
    console.error("packages: no prebuild under prebuilds/ (npm run prebuild): no platform package made");
  const order = [];
  for (const p of staged) {
    let line = `${p.name.padEnd(30)} ${String(p.files.length).padStart(5)} files ${(duBytes(p.dir) / MB).toFixed(1).padStart(6)} MB`;
    if (values.pack) {
      const t = pack(p.dir, out);
      order.push(path.basename(t.file));
      line += `; packed ${(t.size / MB).toFixed(1)} MB (${path.relative(process.cwd(), t.file)})`;
    }
    console.log(line);
  }
  // the tarballs in the order a release publishes them (the workflow reads it)
  if (values.pack) fs.writeFileSync(path.join(out, "order.json"), `${JSON.stringify(order, null, 2)}\n`);
}
