// Builds a C++ test program of test/native/programs/ with the system's compiler (CXX, else c++; CXX
// may be "ccache g++") and runs it. The programs print "ok ..." or "FAIL ..." per case and exit 1
// on a failure; the expectations here fail the test with their output. Not for Windows, where the
// addon builds with MSVC and no command-line compiler is on PATH.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { root } from "../helpers";

export interface CxxProgram {
  /** The executable's name, also the temporary directory's prefix. */
  name: string;
  /** Sources, relative to the project root. */
  sources: string[];
  /** Include directories besides native/, relative to the project root. */
  includes?: string[];
  /** Files written into the build directory (on the include path) before compiling: name -> text. */
  files?: Record<string, string>;
  /** Optimization flag. Default -O1. */
  optimize?: string;
}

/** Compiles and runs the program, expects a clean build, no FAIL line and exit 0; returns its stdout. */
export function runCxxProgram({ name, sources, includes = [], files = {}, optimize = "-O1" }: CxxProgram): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  try {
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    const exe = path.join(dir, name);
    const [cxx, ...cxxArgs] = (process.env.CXX || "c++").trim().split(/\s+/);
    const incs = ["native", ...includes].flatMap((d) => ["-I", path.join(root, d)]);
    const built = spawnSync(
      cxx,
      [...cxxArgs, "-std=c++17", optimize, "-Wall", "-Werror", ...incs, "-I", dir, ...sources.map((s) => path.join(root, s)), "-o", exe],
      { encoding: "utf8" },
    );
    expect(built.error, `${cxx}: ${built.error?.message}`).toBeUndefined();
    expect(built.status, built.stderr).toBe(0);
    const r = spawnSync(exe, { encoding: "utf8" });
    expect(
      r.stdout.split("\n").filter((l) => l.startsWith("FAIL")),
      r.stdout,
    ).toEqual([]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
