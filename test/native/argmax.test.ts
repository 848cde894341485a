// The greedy argmax (native/argmax.h) against llama.cpp's llama_sampler_greedy_apply, taken from the
// vendored source as it is: test/native/programs/argmax_test.cpp built with the system's C++ compiler
// (./cxx-program.ts). The whole-model oracle (greedy generations against llama.cpp's tools) is in the
// model tests.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers";
import { runCxxProgram } from "./cxx-program";

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
      const stdout = runCxxProgram({
        name: "argmax_test",
        sources: ["test/native/programs/argmax_test.cpp"],
        includes: ["vendor/llama.cpp/include", "vendor/llama.cpp/ggml/include"],
        files: { "greedy_apply.inc": greedyApplySource() },
        optimize: "-O2",
      });
      expect(stdout).toMatch(/^ok 400400 cases, 0 failures$/m);
    },
    120_000,
  );
});
