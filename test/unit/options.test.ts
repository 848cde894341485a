// Option validation happens in TypeScript, before anything crosses into native code.
import { describe, expect, inject, it } from "vitest";
import { loadModel, setLogLevel, setLogger } from "../../dist/index.mjs";

describe("loadModel argument checks", () => {
  it("names the bad option and the allowed range", async () => {
    await expect(loadModel("")).rejects.toThrow(TypeError);
    await expect(loadModel(42 as unknown as string)).rejects.toThrow(/path must be a non-empty string/);
    await expect(loadModel("x.gguf", { gpuLayers: 1.5 })).rejects.toThrow(/gpuLayers must be an integer in \[-1, /);
    await expect(loadModel("x.gguf", { useMmap: "yes" as unknown as boolean })).rejects.toThrow(/useMmap must be a boolean/);
    await expect(loadModel("x.gguf", { signal: {} as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
  });
});

describe("logging", () => {
  it("routes llama.cpp's log to a listener at the chosen level", async () => {
    const lines: [string, string][] = [];
    setLogLevel("info");
    setLogger((level, text) => lines.push([level, text]));
    try {
      const m = await loadModel(inject("tinyModel"));
      await m.dispose();
      await new Promise((r) => setTimeout(r, 20)); // log lines arrive through the event loop
      expect(lines.length).toBeGreaterThan(5);
      expect(lines.some(([, t]) => t.includes("llama_model_loader"))).toBe(true);
      expect(lines.every(([l]) => ["error", "warn", "info"].includes(l))).toBe(true);
    } finally {
      setLogger(null);
      setLogLevel("error");
    }
  });

  it("validates the level and the logger", () => {
    expect(() => setLogLevel("loud" as never)).toThrow(RangeError);
    expect(() => setLogger(42 as never)).toThrow(TypeError);
    setLogLevel("error");
    setLogger(null);
  });
});
