// loadModel(path, { preflight: true }): a trial load in a child process before the real one, for
// model files from untrusted sources. llama.cpp's asserts abort the whole process and a corrupt
// tensor can fault a kernel; a child that dies tells us so without taking this process with it.
import type { spawn as Spawn } from "node:child_process";
import path from "node:path";
import { loadedBinary } from "./binding";
import { ModelLoadError } from "./errors";

export interface PreflightOptions {
  /** Give up (and refuse the model) when the trial takes longer. Default 300000 (5 minutes). */
  timeoutMs?: number;
}

/** What the child does: load with the same options and, unless vocab-only, decode two tokens. */
const CHILD = path.join(__dirname, "preflight-child.js");

/** The load options the child repeats (those that change how llama.cpp reads the file). */
export interface PreflightLoad {
  gpuLayers?: number;
  useMmap?: boolean;
  vocabOnly?: boolean;
  checkTensors?: boolean;
}

export async function preflightLoad(file: string, load: PreflightLoad, timeoutMs: number): Promise<void> {
  const binary = loadedBinary().file;
  // Loaded here, not with the package: child_process and its stream modules cost every process
  // about a megabyte of RSS, and only a preflight needs them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const spawn = (require("node:child_process") as { spawn: typeof Spawn }).spawn;
  const child = spawn(process.execPath, [CHILD, file, JSON.stringify(load)], {
    env: { ...process.env, LLAMA_NATIVE_BINARY: binary },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout = (stdout + d).slice(-4000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => clearTimeout(timer));
  // Exit 0: it survived. Exit 1 with a JSON line: a JavaScript error, which the load in this process
  // will raise again as the proper typed error. Anything else killed the child.
  if (code === 0 || (code === 1 && /^\{"error"/m.test(stdout))) return;
  const why = timedOut ? `it did not finish within ${timeoutMs} ms` : signal ? `it was killed by ${signal}` : `it exited with code ${code}`;
  const tail = stderr.trim().split("\n").slice(-6).join("\n");
  throw new ModelLoadError(
    `refusing ${file}: a trial load in a child process failed: ${why}` + (tail ? `\nlast output of the child:\n${tail}` : ""),
  );
}
