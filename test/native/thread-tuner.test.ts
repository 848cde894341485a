// The thread tuner (native/thread_tuner.*) alone, on a simulated clock: test/native/programs/
// thread_tuner_test.cpp built with the system's C++ compiler (CXX, else c++; no llama.cpp needed).
// Not on Windows, where the addon builds with MSVC and no command-line compiler is on PATH.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers";

describe("ThreadTuner", () => {
  it.skipIf(process.platform === "win32")(
    "chooses threads by measured cost per batch size, recovers from a cold start, and bounds its looks",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tuner-"));
      try {
        const exe = path.join(dir, "thread_tuner_test");
        const [cxx, ...cxxArgs] = (process.env.CXX || "c++").trim().split(/\s+/); // CXX may be "ccache g++"
        const src = [path.join(root, "native", "thread_tuner.cpp"), path.join(root, "test", "native", "programs", "thread_tuner_test.cpp")];
        const built = spawnSync(
          cxx,
          [...cxxArgs, "-std=c++17", "-O1", "-Wall", "-Werror", "-I", path.join(root, "native"), ...src, "-o", exe],
          {
            encoding: "utf8",
          },
        );
        expect(built.error, `${cxx}: ${built.error?.message}`).toBeUndefined();
        expect(built.status, built.stderr).toBe(0);
        const r = spawnSync(exe, { encoding: "utf8" });
        expect(
          r.stdout.split("\n").filter((l) => l.startsWith("FAIL")),
          r.stdout,
        ).toEqual([]);
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout.split("\n").filter((l) => l.startsWith("ok ")).length).toBe(17);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
