// Lifetimes: objects the GC finalizes, dispose() during work, many requests on one context.
// The crash-prone cases run in a child process (./child.ts), so an abort fails one test, not the run.
import { describe, expect, inject, it } from "vitest";
import { child } from "./child";

describe("native boundary (child processes)", () => {
  it("contexts and models dropped without dispose are finalized by the GC in either order", () => {
    const r = child("gc-finalize.cjs");
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim()).toBe("alive");
  });
});

describe("concurrency and disposal", () => {
  it("dispose() during an embedding ends it with AbortError or lets it finish; the process lives", () => {
    const r = child("embed-dispose.cjs");
    expect(r.status, r.summary).toBe(0);
    const [first, second] = r.stdout.trim().split("\n");
    expect(["AbortError", "finished 400"]).toContain(first);
    expect(second).toBe("DisposedError");
  });

  it("32 concurrent requests on one context all complete, in call order, as serial runs would", async () => {
    const { loadModel } = await import("../../dist/index.mjs");
    const m = await loadModel(inject("tinyModel"));
    const c = await m.createContext({ contextSize: 256 });
    const prompts = Array.from({ length: 32 }, (_, i) => `Prompt number ${i % 8}`);
    const serial: string[] = [];
    for (const p of prompts) serial.push(Array.from((await c.complete(p, { temperature: 0, maxTokens: 6 })).tokens).join(","));
    const order: number[] = [];
    const parallel = await Promise.all(
      prompts.map((p, i) =>
        c.complete(p, { temperature: 0, maxTokens: 6 }).then((r) => {
          order.push(i);
          return Array.from(r.tokens).join(",");
        }),
      ),
    );
    expect(order).toEqual(prompts.map((_, i) => i));
    expect(parallel).toEqual(serial);
    await m.dispose();
  });
});
