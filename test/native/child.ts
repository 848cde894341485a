// Runs a program of test/native/programs/ in a child process of its own, so that an abort or a
// segfault fails the test that ran it (with the child's exit signal in the message) instead of the
// whole run. The programs `require("./prelude.cjs")` for the library and its raw binding; the
// generated fixture models reach them as LN_MODEL, LN_Q8 and LN_Q4, and whatever else a test gives
// them as arguments.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { inject } from "vitest";
import { root, timeScale } from "../helpers";

export const programs = path.join(root, "test", "native", "programs");

export interface ChildOptions {
  /** Arguments after the program's path (process.argv[2] on). */
  args?: string[];
  /** Flags for node itself, before the program's path. */
  nodeArgs?: string[];
  /** Added to the environment (process.env and the LN_* model paths). */
  env?: Record<string, string>;
  /** Milliseconds before the child is killed with SIGTERM; null: never. Default 60 s. */
  timeout?: number | null;
}

/** Runs `programs/<program>` with node and waits for it; `summary` describes how it ended, for assertion messages. */
export function child(program: string, { args = [], nodeArgs = [], env = {}, timeout = 60_000 * timeScale }: ChildOptions = {}) {
  const r = spawnSync(process.execPath, [...nodeArgs, path.join(programs, program), ...args], {
    encoding: "utf8",
    timeout: timeout ?? undefined,
    env: {
      ...process.env,
      LN_MODEL: inject("tinyModel"),
      LN_Q8: inject("tinyModelQ8_0"),
      LN_Q4: inject("tinyModelQ4_0"),
      ...env,
    },
  });
  const summary = `exit ${r.status} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-3000)}`;
  return { ...r, summary };
}
