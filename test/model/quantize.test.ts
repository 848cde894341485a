// Oracle: llama.cpp's own llama-quantize. writeGguf's q8_0/q4_0 and quantize({ pure: true }) must give
// the same bytes as `llama-quantize --pure` on the same f32 fixture (hashes recorded in
// test/fixtures/oracles/quantize.json).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import os from "node:os";
import { InvalidModelFileError, LlamaError, quantize, readGgufInfo } from "../../dist/index.mjs";
import { root } from "../helpers";

const oracle = JSON.parse(fs.readFileSync(path.join(root, "test", "fixtures", "oracles", "quantize.json"), "utf8"));

async function expectOracleTensors(type: "q8_0" | "q4_0", file: string) {
  const info = await readGgufInfo(file);
  const bytes = fs.readFileSync(file);
  const expected = oracle.types[type].tensors as Record<string, { type: string; sha256: string }>;
  expect(info.tensors.length).toBe(Object.keys(expected).length);
  for (const t of info.tensors) {
    const sha = createHash("sha256")
      .update(bytes.subarray(info.dataOffset + t.offset, info.dataOffset + t.offset + t.sizeBytes))
      .digest("hex");
    expect({ name: t.name, type: t.typeName, sha256: sha }).toEqual({ name: t.name, ...expected[t.name] });
  }
}

describe("quantization matches llama-quantize", () => {
  for (const [type, file] of [
    ["q8_0", inject("tinyModelQ8_0")],
    ["q4_0", inject("tinyModelQ4_0")],
  ] as const) {
    it(`writeGguf ${type}: every tensor is byte-identical`, () => expectOracleTensors(type, file));
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-quantize-"));
  for (const type of ["Q8_0", "Q4_0"] as const) {
    it(`quantize() ${type} --pure: every tensor is byte-identical`, async () => {
      const out = path.join(tmp, `tiny-${type}.gguf`);
      await quantize(inject("tinyModel"), out, { type, pure: true, threads: 2 });
      await expectOracleTensors(type.toLowerCase() as "q8_0" | "q4_0", out);
      expect(fs.readdirSync(tmp).filter((f) => f.includes(".partial-"))).toEqual([]);
    });
  }

  it("quantize() validates its input and options and leaves no partial output", async () => {
    const out = path.join(tmp, "never.gguf");
    await expect(quantize(inject("tinyModel"), out, { type: "IQ2_XS" as never })).rejects.toThrow(/type must be one of/);
    await expect(quantize(inject("tinyModel"), out, {} as never)).rejects.toThrow(TypeError);
    const bad = path.join(tmp, "bad.gguf");
    fs.writeFileSync(bad, "GGUF\x03");
    await expect(quantize(bad, out, { type: "Q8_0" })).rejects.toThrow(InvalidModelFileError);
    // llama.cpp refuses to re-quantize quantized tensors unless asked: a LlamaError, not a crash
    await expect(quantize(inject("tinyModelQ8_0"), out, { type: "Q4_0" })).rejects.toThrow(LlamaError);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes(".partial-"))).toEqual([]);
  });
});
