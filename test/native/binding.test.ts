// The native binding itself: loading the addon, and its raw surface below the TypeScript checks.
// Each case runs in a child process (./child.ts), so an abort fails one test, not the run.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { root } from "../helpers";
import { child } from "./child";

describe("native boundary (child processes)", () => {
  it("the raw binding rejects bad token ids with RangeError, not an abort", () => {
    const r = child("raw-binding-token-ids.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([...Array(9).fill("RangeError"), "alive"]);
  });

  it("foreign receivers on native prototypes throw TypeError", () => {
    const r = child("foreign-receivers.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([...Array(11).fill("TypeError"), "alive"]);
  });
});

describe("what the package loads", () => {
  it("loads no child_process, worker_threads, fs/promises or diagnostic report to load a model and generate", () => {
    const r = child("lean-load.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim()).toBe("none");
  });
});

describe("loader", () => {
  const load = (env: Record<string, string>) => child("load-binding.cjs", { env, timeout: null });

  it("an explicit LLAMA_NATIVE_BINARY that does not load is the error, listing why and the fix", () => {
    for (const [file, why] of [
      ["/nonexistent/llama_native.node", "not found"],
      [path.join(root, "README.md"), "invalid ELF header"],
    ]) {
      const r = load({ LLAMA_NATIVE_BINARY: file });
      expect(r.status).toBe(0);
      const [name, code, message] = r.stdout.trim().split("|");
      expect(name).toBe("LlamaError");
      expect(code).toBe("ERR_LLAMA_BINDING");
      expect(message).toContain(file);
      expect(message).toContain(why);
      expect(message).toMatch(/Platform: linux-x64 \(glibc [\d.]+\), Node 20/);
      expect(message).toContain("Fix:");
    }
  });

  it("reports which binary it loaded", () => {
    const r = child("binary-path.cjs", { timeout: null });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/\.node$/);
  });
});
