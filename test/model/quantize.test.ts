// Oracle: llama.cpp's own llama-quantize. writeGguf's q8_0/q4_0 must give the same bytes as
// `llama-quantize --pure` on the same f32 fixture (hashes recorded in test/fixtures/oracles/quantize.json).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { readGgufInfo } from "../../dist/index.mjs";
import { root } from "../helpers";

const oracle = JSON.parse(fs.readFileSync(path.join(root, "test", "fixtures", "oracles", "quantize.json"), "utf8"));

describe("quantization matches llama-quantize", () => {
  for (const [type, file] of [
    ["q8_0", inject("tinyModelQ8_0")],
    ["q4_0", inject("tinyModelQ4_0")],
  ] as const) {
    it(`${type}: every tensor is byte-identical`, async () => {
      const info = await readGgufInfo(file);
      const bytes = fs.readFileSync(file);
      const expected = oracle.types[type].tensors as Record<string, { type: string; sha256: string }>;
      expect(info.tensors.length).toBe(Object.keys(expected).length);
      for (const t of info.tensors) {
        const sha = createHash("sha256").update(bytes.subarray(info.dataOffset + t.offset, info.dataOffset + t.offset + t.sizeBytes)).digest("hex");
        expect({ name: t.name, type: t.typeName, sha256: sha }).toEqual({ name: t.name, ...expected[t.name] });
      }
    });
  }
});
