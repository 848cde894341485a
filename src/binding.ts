// The one place that loads the native addon and types its surface.
//
// Load order, first that works wins:
//   1. LLAMA_NATIVE_BINARY (an explicit path; then it is the only candidate);
//   2. a local GPU source build (build-cuda/, build-vulkan/, build-metal/) that finds a GPU device,
//      unless LLAMA_NATIVE_GPU=0;
//   3. the local source build (build/Release);
//   4. the installed platform package (@llama-native/<platform>, found with require.resolve from
//      this package), its prebuild chosen by node-gyp-build's tag rules (N-API, libc);
//   5. the prebuild under this package's own prebuilds/<platform>-<arch>/ (a checkout after
//      `npm run prebuild`).
// Local builds come before the platform package because they exist only when someone ran
// `npx llama-native build` in this package, and a GPU build must win over the CPU prebuild.
// Every candidate that fails is recorded, and if none loads, one error lists them with the platform
// facts, what the platform package is and why it may be missing, and the command that fixes it.
// There is no silent fallback: what was skipped is in loadedBinary().skipped.
import fs from "node:fs";
import path from "node:path";
import { LlamaError, nativeErrorFactory } from "./errors";
import type { NativeBinding } from "./native-types";
import { currentLibc, isPublishedPlatform, PLATFORM_TARGETS, platformPackageName, SOURCE_PACKAGE } from "./platform";

export type * from "./native-types";

export const packageRoot = path.resolve(__dirname, "..");
const ADDON = "llama_native.node";

interface Attempt {
  file: string;
  reason: string;
}

function libcDescription(): string {
  if (process.platform !== "linux") return "";
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? `glibc ${report.header.glibcVersionRuntime}` : "musl";
}

function ownVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "";
  }
}

interface Candidate {
  file: string;
  /** a GPU build only counts if it sees a GPU device */
  gpu: boolean;
  /** decided before trying: why this candidate cannot be used */
  skip?: string;
}

/** The addons under <base>/prebuilds/<platform>-<arch>/ that fit this process, best first. */
function prebuildCandidates(base: string): string[] {
  const dir = path.join(base, "prebuilds", `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return [path.join(dir, "*.node")];
  // node-gyp-build's own tag parsing and ordering, so the layout is the one it resolves.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ngb = require("node-gyp-build") as {
    parseTags(file: string): { file: string } | undefined;
    matchTags(runtime: string, abi: string): (t: unknown) => boolean;
    compareTags(runtime: string): (a: never, b: never) => number;
  };
  const files = fs
    .readdirSync(dir)
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags("node", process.versions.modules))
    .sort(ngb.compareTags("node") as (a: unknown, b: unknown) => number) as { file: string }[];
  return files.length ? files.map((t) => path.join(dir, t.file)) : [path.join(dir, "*.node")];
}

export type PlatformPackageState = "installed" | "missing" | "unpublished";

/** The platform package for this process: found (and of our version), or why not. */
function platformPackageCandidates(): { state: PlatformPackageState; list: Candidate[] } {
  const name = platformPackageName();
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`, { paths: [packageRoot] });
  } catch {
    const state = isPublishedPlatform() ? "missing" : "unpublished";
    const reason = state === "missing" ? "not installed" : "no such package is published for this platform";
    return { state, list: [{ file: name, gpu: false, skip: reason }] };
  }
  const dir = path.dirname(manifest);
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string };
  const own = ownVersion();
  if (own && version !== own) {
    // a different version's addon may not match this version's JavaScript: never load it
    return { state: "installed", list: [{ file: dir, gpu: false, skip: `version ${version}, but llama-native is ${own}` }] };
  }
  return { state: "installed", list: prebuildCandidates(dir).map((file) => ({ file, gpu: false })) };
}

function candidates(): { list: Candidate[]; platformPackage: PlatformPackageState } {
  // An explicitly named binary is the only candidate: if it does not load, that is the error.
  if (process.env.LLAMA_NATIVE_BINARY) {
    return { list: [{ file: path.resolve(process.env.LLAMA_NATIVE_BINARY), gpu: false }], platformPackage: "missing" };
  }
  const list: Candidate[] = [];
  if (process.env.LLAMA_NATIVE_GPU !== "0") {
    for (const gpu of ["cuda", "vulkan", "metal"]) {
      const file = path.join(packageRoot, `build-${gpu}`, "Release", ADDON);
      if (fs.existsSync(file)) list.push({ file, gpu: true });
    }
  }
  list.push({ file: path.join(packageRoot, "build", "Release", ADDON), gpu: false });
  const pkg = platformPackageCandidates();
  list.push(...pkg.list);
  // The package's own prebuilds/ exists in a checkout after `npm run prebuild`; a published
  // llama-native carries none, so it is only listed when it is there.
  const own = prebuildCandidates(packageRoot);
  if (own.some((f) => fs.existsSync(f))) for (const file of own) list.push({ file, gpu: false });
  return { list, platformPackage: pkg.state };
}

/** What the load-failure message is made of (exported for tests; not part of the public API). */
export interface LoadFailureFacts {
  attempts: Attempt[];
  /** process.platform, process.arch */
  platform: string;
  arch: string;
  /** libc with version, e.g. "glibc 2.36", "musl", or "" off Linux */
  libc: string;
  node: string;
  napi: string;
  /** LLAMA_NATIVE_BINARY was set */
  explicit: boolean;
  /** this package's version */
  version: string;
  /** the platform package's name for this process, and whether it was found */
  platformPackage: string;
  platformPackageState: PlatformPackageState;
  /** a checkout with the C++ source (not an installed package): the fix is a local build */
  checkout: boolean;
}

/** The one message for "no candidate loaded": what was tried, why, and what fixes it. */
export function describeLoadFailure(f: LoadFailureFacts): string {
  const at = f.version ? `@${f.version}` : "";
  const lines = [
    "llama-native: could not load the native addon. Tried:",
    ...f.attempts.map((a) => `  - ${a.file}: ${a.reason}`),
    `Platform: ${f.platform}-${f.arch}${f.libc ? ` (${f.libc})` : ""}, Node ${f.node}, N-API ${f.napi}.`,
  ];
  const sourceBuild =
    "`npx llama-native build` (needs cmake >= 3.19 and a C++17 compiler; it fetches the C++ source, " +
    `${SOURCE_PACKAGE}${at}, from the npm registry)`;
  if (f.explicit) {
    lines.push("Fix: point LLAMA_NATIVE_BINARY at a llama_native.node built for this platform, or unset it.");
  } else if (f.checkout) {
    lines.push("Fix: build it from source for this machine with `npm run build:native` (or `npx llama-native build`).");
  } else if (f.platformPackageState === "missing") {
    const pkg = `${f.platformPackage}${at}`;
    lines.push(
      `The prebuilt addon for this platform is the package ${pkg}, an optional dependency of llama-native that`,
      "npm installs only where its os, cpu and libc match. It is not installed; the usual causes:",
      "  - optional dependencies were left out: `npm install --omit=optional` (also npm_config_omit=optional,",
      "    `yarn install --ignore-optional`, `pnpm install --no-optional`);",
      "  - the package-lock.json was written on another platform, and npm kept only that platform's optional",
      "    packages in it (a known npm bug: https://github.com/npm/cli/issues/4828), so `npm ci` here skips this one;",
      "  - node_modules was copied from another machine, or installed with --os/--cpu/--libc for another platform.",
      "Fix: install again with optional dependencies; for a lockfile from another platform, delete node_modules and",
      `package-lock.json and run \`npm install\` again, or add the package explicitly: \`npm install --save-optional ${pkg}\`.`,
      `Or build the addon for this machine from source: ${sourceBuild}.`,
    );
  } else if (f.platformPackageState === "unpublished") {
    lines.push(
      `No prebuilt addon is published for ${f.platform}-${f.arch}${f.libc ? ` (${f.libc.split(" ")[0]})` : ""} ` +
        `(there are: ${PLATFORM_TARGETS.map((t) => t.id).join(", ")}).`,
      `Fix: build it from source for this machine with ${sourceBuild}.`,
    );
  } else {
    lines.push(
      `Fix: reinstall ${f.platformPackage}${at} (its files may be damaged, or be another version's), ` +
        `or build the addon for this machine from source with ${sourceBuild}.`,
    );
  }
  return lines.join("\n");
}

export interface LoadedBinary {
  /** the .node file that was loaded */
  file: string;
  /** candidates tried before it, and why each was passed over */
  skipped: Attempt[];
}

let loaded: LoadedBinary | undefined;

function load(): NativeBinding {
  const attempts: Attempt[] = [];
  const { list, platformPackage } = candidates();
  for (const { file, gpu, skip } of list) {
    if (skip) {
      attempts.push({ file, reason: skip });
      continue;
    }
    if (!fs.existsSync(file)) {
      attempts.push({ file, reason: "not found" });
      continue;
    }
    try {
      // process.dlopen, not require: the file is loaded as a native addon whatever its name
      const mod = { exports: {} as NativeBinding };
      process.dlopen(mod, file);
      const b = mod.exports;
      if (typeof b?.Model?.load !== "function") throw new Error("not a llama-native addon");
      if (gpu && !b.systemInfo().devices.some((d) => d.name !== "CPU")) {
        attempts.push({ file, reason: "a GPU build, but it found no GPU device" });
        continue;
      }
      loaded = { file, skipped: attempts };
      return b;
    } catch (e) {
      attempts.push({ file, reason: (e as Error).message.split("\n")[0] ?? String(e) });
    }
  }
  const message = describeLoadFailure({
    attempts,
    platform: process.platform,
    arch: process.arch,
    libc: libcDescription(),
    node: process.versions.node,
    napi: process.versions.napi ?? "?",
    explicit: Boolean(process.env.LLAMA_NATIVE_BINARY),
    version: ownVersion(),
    platformPackage: platformPackageName(process.platform, process.arch, currentLibc()),
    platformPackageState: platformPackage,
    checkout: fs.existsSync(path.join(packageRoot, "native")) && fs.existsSync(path.join(packageRoot, "CMakeLists.txt")),
  });
  throw new LlamaError(message, "ERR_LLAMA_BINDING");
}

/** Which .node file was loaded, and which candidates were passed over (loads the addon). */
export function loadedBinary(): LoadedBinary {
  binding();
  return loaded!;
}

let cached: NativeBinding | undefined;

/** The loaded addon (loaded on first use, so importing the package never throws). */
export function binding(): NativeBinding {
  if (cached === undefined) {
    const b = load();
    // From here on every error the addon raises is one of the exported classes.
    b.setErrorFactory(nativeErrorFactory);
    guardExit(b);
    cached = b;
  }
  return cached;
}

/** How long the main thread's exit waits for native work in flight to stop. */
export const EXIT_WAIT_MS = 5000;

// process.exit() (and an uncaught exception) on the main thread runs the C++ static destructors
// of llama.cpp and ggml while our threads may still be decoding: that was a SIGSEGV at exit. The
// 'exit' event comes first, so native work is stopped there (native/exit_gate.h). A worker_thread's
// exit tears only its own environment down, which the addon's cleanup hooks already handle; closing
// the gate there would stop every other thread's work too.
// The addon tells (libuv's default loop is the main thread's); node:worker_threads only for an
// older binary without the flag, since loading it costs about a megabyte of RSS.
function onMainThread(b: NativeBinding): boolean {
  if (typeof b.mainThread === "boolean") return b.mainThread;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("node:worker_threads") as typeof import("node:worker_threads")).isMainThread;
}

function guardExit(b: NativeBinding): void {
  if (!onMainThread(b) || typeof b.closeForExit !== "function") return;
  process.once("exit", () => {
    b.closeForExit(EXIT_WAIT_MS);
  });
}
