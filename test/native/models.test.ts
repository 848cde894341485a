// Loading models that are fine: vocab-only, quantized, the real model, and a trial load first.
// Each case runs in a child process (./child.ts), so an abort fails one test, not the run.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { realModelPath } from "../helpers";
import { child, programs } from "./child";

describe("native boundary (child processes)", () => {
  it("a vocab-only model reports its info without touching per-layer state", () => {
    const r = child("vocab-only.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["0 0 32000", "LlamaError"]);
  });

  it("quantized models (Q8_0, Q4_0) decode multi-token prompts (ggml's AMX kernel crashed here)", () => {
    const r = child("quantized.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["true 8", "true 8"]);
  });

  it.runIf(realModelPath())("the real model generates in a child and exits 0", () => {
    const r = child("real-model.cjs", { args: [realModelPath() ?? ""] });
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout).toContain("there was a little girl");
  });
});

describe("loadModel({ preflight: true }) tries the file in a child process first", () => {
  it("loads a good model after the trial, and refuses one whose trial process dies", async () => {
    const good = child("preflight.cjs");
    expect(good.status, good.summary).toBe(0);
    expect(good.stdout.trim().split("\n")).toEqual(["3", "RangeError"]);
    // Emulates a model that kills llama.cpp: a preload that crashes only the preflight child.
    const hook = path.join(programs, "preflight-crash-hook.cjs");
    // Under npm run sanitize, AddressSanitizer would catch the emulated SIGSEGV itself (and report a
    // deadly signal, exit 1): the planted signal must reach the parent as a signal, as a real one would.
    const asan = process.env.ASAN_OPTIONS ? { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS}:handle_segv=0` } : {};
    const r = child("preflight-refused.cjs", { env: { NODE_OPTIONS: `--require ${JSON.stringify(hook)}`, ...asan }, timeout: null });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(
      /^ModelLoadError\|ERR_LLAMA_LOAD\|refusing .*: a trial load in a child process failed: it was killed by SIGSEGV$/,
    );
  });
});
