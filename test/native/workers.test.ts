// worker_threads: each with its own model and context, and one terminated mid-generation.
// Each case runs in a child process (./child.ts), so an abort fails one test, not the run.
import { describe, expect, it } from "vitest";
import { child } from "./child";

describe("native boundary (child processes)", () => {
  it("generates in two worker_threads at once, each with its own model and context", () => {
    const r = child("two-workers.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim()).toBe("same 32");
  });

  it("the addon tells the main thread from a worker_thread as node:worker_threads does", () => {
    const r = child("main-thread-flag.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["main true true", "worker false false"]);
  });

  it("terminating a worker in the middle of a generation leaves the process healthy", () => {
    const r = child("terminate-worker.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim()).toBe("alive 3");
  });
});
