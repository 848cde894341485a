// The options objects that cross into native code are declared twice, once per side
// (src/native-params.ts, native/params.cpp). Both sides must declare the same keys, types, ranges and
// choices; native code refuses an object that misses a declared key or carries an undeclared one, and
// checks that it reads every key it declares (exercised by every test that crosses the boundary).
import { describe, expect, it } from "vitest";
import { binding } from "../../dist/binding.js";
import { NATIVE_PARAMS } from "../../dist/native-params.js";

describe("native parameter tables", () => {
  it("TypeScript and native code declare the same entry points, keys, types and ranges", () => {
    const native = binding().paramTables();
    // JSON round trip: the TS tables are plain data, readonly arrays become arrays
    expect(native).toEqual(JSON.parse(JSON.stringify(NATIVE_PARAMS)));
  });

  it("native code refuses an incomplete or over-complete params object", async () => {
    const b = binding();
    const flag = new b.AbortFlag();
    const full = { gpuLayers: -1, loadMode: "auto", vocabOnly: false, checkTensors: false, rpcServers: [], tensorSplit: [] };
    const { gpuLayers: _, ...missing } = full;
    await expect(async () => b.Model.load("x.gguf", missing as never, flag)).rejects.toThrow(/Model\.load params: missing key 'gpuLayers'/);
    await expect(async () => b.Model.load("x.gguf", { ...full, gpuLayer: 0 } as never, flag)).rejects.toThrow(
      /Model\.load params: unknown key 'gpuLayer'/,
    );
    await expect(async () => b.Model.load("x.gguf", { ...full, loadMode: "fast" } as never, flag)).rejects.toThrow(RangeError);
    await expect(async () => b.quantize("a", "b", { type: "Q4_0", threads: 2000, pure: false, allowRequantize: false })).rejects.toThrow(
      /threads must be an integer in \[0, 1024\]/,
    );
  });
});
