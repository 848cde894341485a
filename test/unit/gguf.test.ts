// The GGUF reader/validator and writer, without loading anything into llama.cpp.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkModelMetadata, GgufValueType, InvalidModelFileError, readGgufInfo, writeGguf } from "../../dist/index.mjs";
import { validateModelFile } from "../../dist/gguf/index.js";
import { realModelPath, vocabDir } from "../helpers";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-gguf-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function u32(v: number) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
function u64(v: bigint | number) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
function str(s: string) {
  return Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
}
function file(name: string, ...parts: Buffer[]) {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, Buffer.concat(parts));
  return p;
}
const header = (version: number, nTensors: bigint | number, nKv: bigint | number) =>
  Buffer.concat([Buffer.from("GGUF"), u32(version), u64(nTensors), u64(nKv)]);

describe("readGgufInfo", () => {
  it("reads llama.cpp's vocabulary files", async () => {
    const info = await readGgufInfo(path.join(vocabDir, "ggml-vocab-llama-spm.gguf"));
    expect(info.version).toBe(3);
    expect(info.metadata["tokenizer.ggml.model"]).toBe("llama");
    expect((info.metadata["tokenizer.ggml.tokens"] as string[]).length).toBe(32000);
    expect(info.metadataTypes["tokenizer.ggml.scores"]).toBe(GgufValueType.ARRAY);
  });

  it.runIf(realModelPath())("reads the real model's tensor table", async () => {
    const info = await readGgufInfo(realModelPath()!);
    expect(info.architecture).toBe("llama");
    expect(info.tensors.length).toBe(48);
    const emb = info.tensors.find((t) => t.name === "token_embd.weight")!;
    expect(emb.shape).toEqual([64, 512]);
    expect(emb.typeName).toBe("f32");
    expect(emb.sizeBytes).toBe(64 * 512 * 4);
  });

  it("round-trips what writeGguf writes", async () => {
    const p = path.join(tmp, "rt.gguf");
    const data = Float32Array.from({ length: 64 }, (_, i) => i / 7);
    await writeGguf(p, {
      metadata: [
        { key: "general.architecture", type: GgufValueType.STRING, value: "llama" },
        { key: "a.u32", type: GgufValueType.UINT32, value: 7 },
        { key: "a.f32", type: GgufValueType.FLOAT32, value: 0.5 },
        { key: "a.bool", type: GgufValueType.BOOL, value: true },
        { key: "a.i64", type: GgufValueType.INT64, value: -3 },
        { key: "a.arr", type: GgufValueType.ARRAY, arrayType: GgufValueType.STRING, value: ["x", "yz", ""] },
      ],
      tensors: [
        { name: "t32", shape: [16, 4], type: "f32", data },
        { name: "t16", shape: [64], type: "f16", data },
      ],
    });
    const info = await readGgufInfo(p);
    expect(info.metadata["a.u32"]).toBe(7);
    expect(info.metadata["a.f32"]).toBe(0.5);
    expect(info.metadata["a.bool"]).toBe(true);
    expect(info.metadata["a.i64"]).toBe(-3);
    expect(info.metadata["a.arr"]).toEqual(["x", "yz", ""]);
    expect(info.tensors.map((t) => [t.name, t.typeName, t.sizeBytes])).toEqual([
      ["t32", "f32", 256],
      ["t16", "f16", 128],
    ]);
    // F16 data is IEEE half: 1/7 ≈ 0.142822265625 in half precision
    const raw = fs.readFileSync(p);
    const t16 = info.tensors[1]!;
    expect(raw.readUInt16LE(info.dataOffset + t16.offset + 2)).toBe(0x3092);
  });

  const bad: [string, () => string, RegExp][] = [
    ["an empty file", () => file("empty.gguf"), /too short/],
    [
      "a truncated header",
      () => file("trunc.gguf", header(3, 0, 1).subarray(0, 20), Buffer.alloc(4)),
      /key\/value count .* more than the 0 bytes left/,
    ],
    [
      "a file cut inside a value",
      () => file("cut.gguf", header(3, 0, 1), str("k"), u32(GgufValueType.UINT64), Buffer.alloc(3)),
      /needs 8 bytes but the file ends after 3/,
    ],
    ["bad magic", () => file("magic.gguf", Buffer.from("GGML"), u32(3), u64(0), u64(0)), /bad magic/],
    ["version 0", () => file("v0.gguf", header(0, 0, 0)), /version 0/],
    ["version 1", () => file("v1.gguf", header(1, 0, 0)), /version 1/],
    ["version 999", () => file("v999.gguf", header(999, 0, 0)), /version 999/],
    ["a tensor count of 2^63", () => file("nt.gguf", header(3, 2n ** 63n, 0)), /tensor count/],
    ["a key/value count of 2^63", () => file("nkv.gguf", header(3, 0, 2n ** 63n)), /key\/value count/],
    [
      "a string length of 2^63",
      () => file("sl.gguf", header(3, 0, 1), u64(2n ** 63n), Buffer.alloc(64)),
      /key #0 length at offset 24 is 9223372036854775808/,
    ],
    [
      "an array length of 2^63",
      () => file("al.gguf", header(3, 0, 1), str("k"), u32(GgufValueType.ARRAY), u32(GgufValueType.UINT32), u64(2n ** 63n)),
      /array length/,
    ],
    ["an unknown value type", () => file("vt.gguf", header(3, 0, 1), str("k"), u32(77), u32(0)), /unknown value type/],
    [
      "alignment stored as a string",
      () => file("al1.gguf", header(3, 0, 1), str("general.alignment"), u32(GgufValueType.STRING), str("32")),
      /u32/,
    ],
    [
      "alignment not a power of two",
      () => file("al2.gguf", header(3, 0, 1), str("general.alignment"), u32(GgufValueType.UINT32), u32(24)),
      /power of two/,
    ],
    [
      "5 dimensions",
      () => file("nd.gguf", header(3, 1, 0), str("t"), u32(5), u64(1), u64(1), u64(1), u64(1), u64(1), u32(0), u64(0)),
      /dimensions/,
    ],
    ["an unknown ggml type", () => file("gt.gguf", header(3, 1, 0), str("t"), u32(1), u64(32), u32(99), u64(0)), /unknown ggml type/],
    [
      "an element count that overflows",
      () => file("ov.gguf", header(3, 1, 0), str("t"), u32(2), u64(2n ** 40n), u64(2n ** 40n), u32(0), u64(0)),
      /overflow/,
    ],
    [
      "a tensor past the end of the file",
      () => file("end.gguf", header(3, 1, 0), str("t"), u32(1), u64(1024), u32(0), u64(0)),
      /past the end/,
    ],
  ];
  for (const [what, make, msg] of bad) {
    it(`rejects ${what} with InvalidModelFileError`, async () => {
      const p = make();
      const err = await readGgufInfo(p).catch((e) => e);
      expect(err).toBeInstanceOf(InvalidModelFileError);
      expect(err.message).toMatch(msg);
      expect(err.path).toBe(p);
    });
  }
});

// loadModel() and quantize() validate with long arrays left in the file's bytes (src/gguf.ts,
// validateModelFile); the public readGgufInfo + checkModelMetadata materialize them. Same verdicts.
describe("validateModelFile (what loadModel runs)", () => {
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e: Error) => `${e.name}: ${e.message}`,
    );

  it("agrees with readGgufInfo + checkModelMetadata on every upstream vocabulary", async () => {
    const files = fs.readdirSync(vocabDir).filter((f) => /^ggml-vocab-.*\.gguf$/.test(f));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const p = path.join(vocabDir, f);
      const compact = await outcome(validateModelFile(p, { tensors: false }));
      const full = await outcome(readGgufInfo(p, { tensors: false }).then(checkModelMetadata));
      expect(compact, f).toBe(full);
      expect(compact, f).toBe("ok");
    }
  });

  // 100 token texts (long enough to be left in the bytes), written by hand so that two of them can
  // be byte strings that are not UTF-8
  const vocab = (texts: Buffer[]) =>
    file(
      `vocab-${texts.length}-${Math.random().toString(36).slice(2)}.gguf`,
      header(3, 0, 1),
      str("tokenizer.ggml.tokens"),
      u32(GgufValueType.ARRAY),
      u32(GgufValueType.STRING),
      u64(texts.length),
      ...texts.map((t) => Buffer.concat([u64(t.length), t])),
    );
  const texts = Array.from({ length: 98 }, (_, i) => Buffer.from(`t${i}`));

  it("finds a repeated token text, with the same message as checkModelMetadata", async () => {
    const p = vocab([...texts, Buffer.from("x"), Buffer.from("t5")]);
    const compact = await outcome(validateModelFile(p));
    expect(compact).toMatch(/holds the text "t5" twice \(tokens 5 and 99\)/);
    expect(await outcome(readGgufInfo(p).then(checkModelMetadata))).toBe(compact);
  });

  it("compares token texts as bytes, as llama.cpp does: 0xFF and 0xFE are two tokens", async () => {
    // both decode to U+FFFD in JavaScript; llama.cpp keys its token map by the bytes
    const p = vocab([...texts, Buffer.from([0xff]), Buffer.from([0xfe])]);
    expect(await outcome(validateModelFile(p))).toBe("ok");
    const same = vocab([...texts, Buffer.from([0xff]), Buffer.from([0xff])]);
    expect(await outcome(validateModelFile(same))).toMatch(/holds the text "\uFFFD" twice \(tokens 98 and 99\)/);
  });
});

describe("validateModelFile against readGgufInfo + checkModelMetadata on damaged files", () => {
  it("gives the same verdict and message for 150 seeded random corruptions of a real vocabulary", async () => {
    const original = fs.readFileSync(path.join(vocabDir, "ggml-vocab-llama-spm.gguf"));
    let seed = 12345; // mulberry32 with a fixed seed: the same 150 files every run
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n) | 0;
    };
    const verdicts = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const damaged = Buffer.from(original);
      // mostly the metadata up to the first token texts (lengths, types, counts), sometimes anywhere
      const span = i % 3 === 0 ? damaged.length : 4096;
      for (let k = 0, flips = 1 + rand(4); k < flips; k++) damaged[rand(span)] = rand(256);
      const p = path.join(tmp, `damaged-${i}.gguf`);
      fs.writeFileSync(p, damaged);
      const outcome = (q: Promise<unknown>) =>
        q.then(
          () => "ok",
          (e: Error) => `${e.name}: ${e.message}`,
        );
      const compact = await outcome(validateModelFile(p, { tensors: false }));
      const full = await outcome(readGgufInfo(p, { tensors: false }).then(checkModelMetadata));
      expect(compact, `damaged-${i}`).toBe(full);
      const kind =
        compact === "ok"
          ? "ok"
          : compact
              .split(p)
              .pop()!
              .replace(/[0-9]+/g, "N")
              .slice(0, 50);
      verdicts.set(kind, (verdicts.get(kind) ?? 0) + 1);
      fs.rmSync(p);
    }
    // the corruptions reach both outcomes, so the comparison is not vacuous
    expect(verdicts.get("ok") ?? 0).toBeGreaterThan(0);
    expect([...verdicts.keys()].filter((k) => k !== "ok").length).toBeGreaterThan(2);
  });
});
