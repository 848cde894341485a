// The thread tuner (native/thread_tuner.*) alone, on a simulated clock: test/native/programs/
// thread_tuner_test.cpp built with the system's C++ compiler (./cxx-program.ts; no llama.cpp needed).
import { describe, expect, it } from "vitest";
import { runCxxProgram } from "./cxx-program";

describe("ThreadTuner", () => {
  it.skipIf(process.platform === "win32")(
    "chooses threads by measured cost per batch size, recovers from a cold start, and bounds its looks",
    () => {
      const stdout = runCxxProgram({
        name: "thread_tuner_test",
        sources: ["native/thread_tuner.cpp", "test/native/programs/thread_tuner_test.cpp"],
      });
      expect(stdout.split("\n").filter((l) => l.startsWith("ok ")).length).toBe(17);
    },
    120_000,
  );
});
