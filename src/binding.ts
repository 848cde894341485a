// The one place that loads the native addon and types its surface.
//
// Load order, first that works wins:
//   1. LLAMA_NATIVE_BINARY (an explicit path);
//   2. a local GPU source build (build-cuda/, build-vulkan/, build-metal/) that finds a GPU device,
//      unless LLAMA_NATIVE_GPU=0;
//   3. the local source build (build/Release);
//   4. the prebuild for this platform under prebuilds/<platform>-<arch>/, chosen by node-gyp-build's
//      tag rules (N-API, libc).
// Every candidate that fails is recorded, and if none loads, one error lists them with the platform
// facts and the command that fixes it. There is no silent fallback: what was skipped is in
// loadedBinary().skipped.
import fs from "node:fs";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
import { LlamaError, nativeErrorFactory } from "./errors";
import type { NativeBinding } from "./native-types";

export type * from "./native-types";

export const packageRoot = path.resolve(__dirname, "..");
const ADDON = "llama_native.node";

interface Attempt {
  file: string;
  reason: string;
}

function libc(): string {
  if (process.platform !== "linux") return "";
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? `glibc ${report.header.glibcVersionRuntime}` : "musl";
}

interface Candidate {
  file: string;
  /** a GPU build only counts if it sees a GPU device */
  gpu: boolean;
}

function prebuildCandidates(): string[] {
  const dir = path.join(packageRoot, "prebuilds", `${process.platform}-${process.arch}`);
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

function candidates(): Candidate[] {
  const list: Candidate[] = [];
  // An explicitly named binary is the only candidate: if it does not load, that is the error.
  if (process.env.LLAMA_NATIVE_BINARY) return [{ file: path.resolve(process.env.LLAMA_NATIVE_BINARY), gpu: false }];
  if (process.env.LLAMA_NATIVE_GPU !== "0") {
    for (const gpu of ["cuda", "vulkan", "metal"]) {
      const file = path.join(packageRoot, `build-${gpu}`, "Release", ADDON);
      if (fs.existsSync(file)) list.push({ file, gpu: true });
    }
  }
  list.push({ file: path.join(packageRoot, "build", "Release", ADDON), gpu: false });
  for (const file of prebuildCandidates()) list.push({ file, gpu: false });
  return list;
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
  for (const { file, gpu } of candidates()) {
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
  const lines = attempts.map((a) => `  - ${a.file}: ${a.reason}`);
  throw new LlamaError(
    [
      "llama-native: could not load the native addon. Tried:",
      ...lines,
      `Platform: ${process.platform}-${process.arch}${libc() ? ` (${libc()})` : ""}, Node ${process.versions.node}, ` +
        `N-API ${process.versions.napi}.`,
      process.env.LLAMA_NATIVE_BINARY
        ? "Fix: point LLAMA_NATIVE_BINARY at a llama_native.node built for this platform, or unset it."
        : "Fix: build it from source for this machine with `npx llama-native build` (needs cmake >= 3.19 and a C++17 " +
          "compiler), or set LLAMA_NATIVE_BINARY to a llama_native.node built for this platform.",
    ].join("\n"),
    "ERR_LLAMA_BINDING",
  );
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
function guardExit(b: NativeBinding): void {
  if (!isMainThread || typeof b.closeForExit !== "function") return;
  process.once("exit", () => {
    b.closeForExit(EXIT_WAIT_MS);
  });
}
