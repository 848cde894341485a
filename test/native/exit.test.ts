// How the process ends while llama.cpp works: process.exit, an uncaught exception, an exit with a
// worker_thread generating, and what the addon does at exit with work in flight.
// Each case runs in a child process (./child.ts), so an abort fails one test, not the run.
import { describe, expect, it } from "vitest";
import { child } from "./child";

describe("native boundary (child processes)", () => {
  it("process.exit during a generation exits cleanly", () => {
    const r = child("exit-during-generation.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe("exiting");
  });

  // The SIGSEGV this guards against came from exit() destroying ggml's static tables while the
  // engine thread was decoding; it needed a loaded machine to show (about 1 exit in 60 with four
  // such processes on two cores). The test below checks the mechanism directly; these check the
  // exits users have, several times each, and that an abort at exit prints no decode errors.
  it.each([
    ["process.exit while 6 requests run on 4 sequences", "exit-with-requests.cjs", 0],
    ["an uncaught exception during a generation", "uncaught-during-generation.cjs", 1],
    ["process.exit on the main thread while a worker_thread generates", "exit-while-worker-generates.cjs", 0],
  ])("%s exits with its code, 5 times out of 5", (_name, program, status) => {
    for (let i = 0; i < 5; i++) {
      const r = child(program);
      expect(r.signal, r.summary).toBeNull();
      expect(r.status, r.summary).toBe(status);
      expect(r.stdout.trim()).toBe("exiting");
      expect(r.stderr).not.toMatch(/failed to decode|failed to compute graph/);
    }
  });

  it("at exit, work in flight is aborted and waited for, and new work is refused without calling llama.cpp", () => {
    const r = child("close-for-exit.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "left in llama.cpp 0",
      "abort generated ran",
      "abort generated ran",
      "abort none waited",
      "later abort 0",
      ...Array(3).fill("AbortError the process is exiting"),
      "exiting",
    ]);
    expect(r.stderr).not.toMatch(/failed to decode|failed to compute graph/);
  });
});
