// The greedy argmax (native/argmax.h) against llama.cpp's llama_sampler_greedy_apply, taken from the
// vendored source as it is: test/native/programs/argmax_test.cpp built with the system's C++ compiler
// (CXX, else c++). Not on Windows, where the addon builds with MSVC and no command-line compiler is on
// PATH. The whole-model oracle (greedy generations against llama.cpp's tools) is in the model tests.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers";

// The function's text, from its signature to the closing brace at the start of a line.
function greedyApplySource(): string {
  const file = path.join(root, "vendor", "llama.cpp", "src", "llama-sampler.cpp");
  const text = fs.readFileSync(file, "utf8");
  const m = /^static void llama_sampler_greedy_apply\([^)]*\) \{\n[\s\S]*?\n\}\n/m.exec(text);
  if (!m) throw new Error(`llama_sampler_greedy_apply not found in ${file}`);
  return m[0];
}

describe("FirstArgmax", () => {
  it.skipIf(process.platform === "win32")(
    "picks the token llama.cpp's greedy sampler picks, on corner cases and whole vocabularies",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argmax-"));
      try {
        fs.writeFileSync(path.join(dir, "greedy_apply.inc"), greedyApplySource());
        const exe = path.join(dir, "argmax_test");
        const [cxx, ...cxxArgs] = (process.env.CXX || "c++").trim().split(/\s+/); // CXX may be "ccache g++"
        const llama = path.join(root, "vendor", "llama.cpp");
        const built = spawnSync(
          cxx,
          [
            ...cxxArgs,
            "-std=c++17",
            "-O2",
            "-Wall",
            "-Werror",
            "-I",
            path.join(root, "native"),
            "-I",
            path.join(llama, "include"),
            "-I",
            path.join(llama, "ggml", "include"),
            "-I",
            dir,
            path.join(root, "test", "native", "programs", "argmax_test.cpp"),
            "-o",
            exe,
          ],
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
        expect(r.stdout).toMatch(/^ok 400400 cases, 0 failures$/m);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
