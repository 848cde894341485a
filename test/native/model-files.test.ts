// Model files llama.cpp would abort on, or read out of bounds: each must be a typed load error.
// Each case loads in a child process (./child.ts), so an abort fails one test, not the run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { GgufValueType, readGgufInfo, writeGguf } from "../../dist/index.mjs";
import { root } from "../helpers";
import { child } from "./child";

describe("model files llama.cpp would abort on are rejected before it sees them", () => {
  // Each file is the fixture with one metadata value changed; without the TypeScript check the
  // first three abort the process in llama-model.cpp (GGML_ASSERT), the others make llama.cpp read
  // arrays through pointers of the wrong type or size.
  const cases: [string, (set: Setter, md: Record<string, unknown>) => void, RegExp][] = [
    ["block_count 0", (set) => set("llama.block_count", GgufValueType.UINT32, 0), /block_count is 0/],
    ["block_count 600", (set) => set("llama.block_count", GgufValueType.UINT32, 600), /block_count is 600/],
    ["expert_count 2000", (set) => set("llama.expert_count", GgufValueType.UINT32, 2000), /expert_count is 2000/],
    [
      "scores shorter than the vocabulary",
      (set, md) =>
        set("tokenizer.ggml.scores", GgufValueType.ARRAY, (md["tokenizer.ggml.scores"] as number[]).slice(0, 10), GgufValueType.FLOAT32),
      /scores must be an array of 32000 f32/,
    ],
    [
      "scores of the wrong element type",
      (set, md) =>
        set(
          "tokenizer.ggml.scores",
          GgufValueType.ARRAY,
          (md["tokenizer.ggml.scores"] as number[]).map(() => 1),
          GgufValueType.INT32,
        ),
      /scores must be an array of 32000 f32/,
    ],
    [
      "token types of the wrong element type",
      (set, md) => set("tokenizer.ggml.token_type", GgufValueType.ARRAY, md["tokenizer.ggml.token_type"] as number[], GgufValueType.UINT8),
      /token_type must be an array of 32000 i32/,
    ],
    [
      "a special token id past the vocabulary",
      (set) => set("tokenizer.ggml.bos_token_id", GgufValueType.UINT32, 999999),
      /bos_token_id is 999999, outside the vocabulary/,
    ],
    // found by npm run fuzz: llama-vocab.cpp GGML_ASSERT(id_to_token.size() == token_to_id.size())
    [
      "a token text that appears twice",
      (set, md) =>
        set(
          "tokenizer.ggml.tokens",
          GgufValueType.ARRAY,
          (md["tokenizer.ggml.tokens"] as string[]).map((t, i) => (i === 300 ? "<0x30>" : t)),
          GgufValueType.STRING,
        ),
      /holds the text "<0x30>" twice/,
    ],
  ];
  it.each(cases)("%s", async (_name, mutate, message) => {
    const file = await mutatedFixture(mutate);
    try {
      const r = child("load-model.cjs", { args: [file, "message"] });
      expect(r.status, r.summary).toBe(0);
      expect(r.stdout).toMatch(/^InvalidModelFileError: /);
      expect(r.stdout).toMatch(message);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe("metadata stored with an unexpected type is a load error, not an abort (case 7)", () => {
  // llama.cpp's typed metadata reader (llama-model-loader's GKV) checks each key's stored type and
  // throws, which loadModel reports; these pin that no such key reaches an asserting accessor.
  const cases: [string, GgufValueType, unknown, GgufValueType?][] = [
    ["general.architecture", GgufValueType.UINT32, 7],
    ["tokenizer.ggml.model", GgufValueType.UINT32, 7],
    ["tokenizer.ggml.add_bos_token", GgufValueType.STRING, "yes"],
    ["llama.context_length", GgufValueType.STRING, "long"],
    ["llama.embedding_length", GgufValueType.FLOAT32, 64.5],
    ["llama.attention.head_count", GgufValueType.STRING, "four"],
    ["llama.attention.head_count_kv", GgufValueType.ARRAY, ["a", "b"], GgufValueType.STRING],
    ["llama.rope.freq_base", GgufValueType.STRING, "x"],
    ["llama.attention.layer_norm_rms_epsilon", GgufValueType.STRING, "x"],
  ];
  it.each(cases)("%s", async (key, type, value, arrayType) => {
    const file = await mutatedFixture((set) => set(key, type, value, arrayType));
    try {
      const r = child("load-model.cjs", { args: [file, "first-line"] });
      expect(r.status, r.summary).toBe(0);
      expect(r.stdout).toMatch(/^(ModelLoadError|InvalidModelFileError): /);
      expect(r.stdout).toMatch(new RegExp(`${key.replace(/\./g, "\\.")}.*(wrong type|wrong array element type|must be)`));
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe("inputs npm run fuzz found to crash llama.cpp are rejected first (test/fixtures/fuzz)", () => {
  const dir = path.join(root, "test", "fixtures", "fuzz");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".gguf"));
  it.each(files)("%s", (f) => {
    const r = child("load-model.cjs", { args: [path.join(dir, f), "name"] });
    expect(r.status, r.summary).toBe(0);
    expect(r.stdout.trim()).toBe("InvalidModelFileError");
  });
});

type Setter = (key: string, type: GgufValueType, value: unknown, arrayType?: GgufValueType) => void;

/** The fixture with some metadata changed, written to a temporary file. */
async function mutatedFixture(mutate: (set: Setter, md: Record<string, unknown>) => void): Promise<string> {
  const base = inject("tinyModel");
  const info = await readGgufInfo(base);
  const bytes = fs.readFileSync(base);
  const metadata = Object.entries(info.metadata).map(([key, value]) => ({
    key,
    type: info.metadataTypes[key]!,
    arrayType: info.metadataArrayTypes[key],
    value,
  }));
  const set: Setter = (key, type, value, arrayType) => {
    const e = { key, type, value: value as never, arrayType };
    const i = metadata.findIndex((m) => m.key === key);
    if (i >= 0) metadata[i] = e;
    else metadata.push(e);
  };
  mutate(set, info.metadata);
  const tensors = info.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    type: t.typeName as "f32",
    data: new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + info.dataOffset + t.offset, bytes.byteOffset + info.dataOffset + t.offset + t.sizeBytes),
    ),
  }));
  const file = path.join(os.tmpdir(), `llama-native-bad-${process.pid}-${Math.random().toString(36).slice(2)}.gguf`);
  await writeGguf(file, { metadata, tensors });
  return file;
}
