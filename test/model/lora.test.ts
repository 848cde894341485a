// LoRA adapters. Oracle: test/fixtures/oracles/lora.json, what llama.cpp's llama-completion printed
// with the trained adapter ../shared/models/stories260K-lora-spark-r4.gguf at each scale (recorded
// by scripts/record-feature-oracles.mjs, command and llama.cpp commit inside). Validation and
// lifetimes run on the generated fixture model with adapters written here.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GgufValueType as T, InvalidModelFileError, loadModel, type Model, writeGguf } from "../../dist/index.mjs";
import { readGgufInfo } from "../../dist/index.mjs";
import { realModelPath, requireRealModel, root } from "../helpers";

const modelPath = realModelPath();
const loraPath = modelPath && path.join(path.dirname(modelPath), "stories260K-lora-spark-r4.gguf");
const haveLora = loraPath !== undefined && fs.existsSync(loraPath);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-lora-"));

interface LoraOracle {
  llamaCppCommit: string;
  modelSha256: string;
  loraSha256: string;
  runs: { command: string[]; prompt: string; scale: number; n: number; stdout: string }[];
}

/** An adapter for the tiny fixture: rank-2 pairs for the given base tensors, with metadata overrides. */
async function writeAdapter(file: string, base: { name: string; shape: number[] }[], meta: Record<string, string> = {}, rank = 2) {
  const md = { "general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora", ...meta };
  await writeGguf(file, {
    metadata: [
      ...Object.entries(md).map(([key, value]) => ({ key, type: T.STRING, value })),
      { key: "adapter.lora.alpha", type: T.FLOAT32, value: rank },
    ],
    tensors: base.flatMap((t) => [
      { name: `${t.name}.lora_a`, shape: [t.shape[0]!, rank], type: "f32" as const, data: new Float32Array(t.shape[0]! * rank).fill(0.01) },
      { name: `${t.name}.lora_b`, shape: [rank, t.shape[1]!], type: "f32" as const, data: new Float32Array(rank * t.shape[1]!).fill(0.01) },
    ]),
  });
  return file;
}

describe("LoRA validation and lifetimes (fixture model)", () => {
  let model: Model;
  let q: { name: string; shape: number[] };
  beforeAll(async () => {
    model = await loadModel(inject("tinyModel"));
    const info = await readGgufInfo(inject("tinyModel"));
    q = info.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
  });
  afterAll(async () => {
    await model?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("loads an adapter that fits; at scale 0 the output is the base model's", async () => {
    const file = await writeAdapter(path.join(tmp, "ok.gguf"), [q]);
    const lora = await model.loadLora(file);
    expect(lora.metadata["general.type"]).toBe("adapter");
    const plain = await model.createContext({ contextSize: 64 });
    const a = await plain.complete([1, 100, 200], { temperature: 0, maxTokens: 8 });
    const ctx = await model.createContext({ contextSize: 64, loras: [{ adapter: lora, scale: 0 }] });
    const zero = await ctx.complete([1, 100, 200], { temperature: 0, maxTokens: 8 });
    expect(Array.from(zero.tokens)).toEqual(Array.from(a.tokens));
    await plain.dispose();
    await ctx.dispose();
  });

  const bad: [string, (f: string) => Promise<string>, RegExp][] = [
    ["general.type is not adapter", (f) => writeAdapter(f, [q], { "general.type": "model" }), /general\.type is "model", not "adapter"/],
    ["adapter.type is not lora", (f) => writeAdapter(f, [q], { "adapter.type": "control_vector" }), /adapter\.type is "control_vector"/],
    [
      "another architecture",
      (f) => writeAdapter(f, [q], { "general.architecture": "qwen2" }),
      /architecture is "qwen2"; the model's is "llama"/,
    ],
    [
      "a tensor the model lacks",
      (f) => writeAdapter(f, [{ name: "blk.9.attn_q.weight", shape: q.shape }]),
      /blk\.9\.attn_q\.weight does not exist in the model/,
    ],
    ["shapes that do not fit", (f) => writeAdapter(f, [{ name: q.name, shape: [q.shape[0]! + 2, q.shape[1]!] }]), /do not fit the model's/],
  ];
  for (const [what, make, msg] of bad) {
    it(`refuses ${what} with InvalidModelFileError naming the file`, async () => {
      const file = await make(path.join(tmp, `${what.replaceAll(" ", "-")}.gguf`));
      const err = await model.loadLora(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidModelFileError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toMatch(msg);
    });
  }

  it("refuses a lora_a without its lora_b, and a file that is not GGUF", async () => {
    const file = path.join(tmp, "half.gguf");
    await writeGguf(file, {
      metadata: [
        { key: "general.architecture", type: T.STRING, value: "llama" },
        { key: "general.type", type: T.STRING, value: "adapter" },
        { key: "adapter.type", type: T.STRING, value: "lora" },
      ],
      tensors: [{ name: `${q.name}.lora_a`, shape: [q.shape[0]!, 2], type: "f32", data: new Float32Array(q.shape[0]! * 2) }],
    });
    await expect(model.loadLora(file)).rejects.toThrow(/has lora_a but not lora_b/);
    const junk = path.join(tmp, "junk.gguf");
    fs.writeFileSync(junk, "not a gguf file at all");
    await expect(model.loadLora(junk)).rejects.toBeInstanceOf(InvalidModelFileError);
    await expect(model.loadLora(path.join(tmp, "missing.gguf"))).rejects.toBeInstanceOf(InvalidModelFileError);
  });

  it("bad loras values are TypeError/RangeError", async () => {
    const lora = await model.loadLora(await writeAdapter(path.join(tmp, "ok2.gguf"), [q]));
    await expect(model.createContext({ loras: {} as never })).rejects.toThrow(TypeError);
    await expect(model.createContext({ loras: [{ adapter: {} as never }] })).rejects.toThrow(/must be a LoraAdapter/);
    await expect(model.createContext({ loras: [{ adapter: lora, scale: Number.NaN }] })).rejects.toThrow(RangeError);
    await expect(model.createContext({ loras: [{ adapter: lora, scale: 1e7 }] })).rejects.toThrow(RangeError);
    await expect(model.createContext({ loras: [{ adapter: lora }, { adapter: lora }] })).rejects.toThrow(/listed twice/);
    await expect(model.createContext({ loras: [{ adapter: lora, weight: 1 } as never] })).rejects.toThrow(
      /unknown option "weight" in LoRA spec/,
    );
    const other = await loadModel(inject("tinyModel"));
    await expect(other.createContext({ loras: [{ adapter: lora }] })).rejects.toThrow(/loaded for another model/);
    await other.dispose();
  });

  it("disposing an adapter in use is safe; the context keeps it until its adapters change", async () => {
    const lora = await model.loadLora(await writeAdapter(path.join(tmp, "ok3.gguf"), [q]));
    const ctx = await model.createContext({ contextSize: 64, loras: [{ adapter: lora, scale: 1 }] });
    const before = await ctx.complete([1, 100, 200], { temperature: 0, maxTokens: 8 });
    await lora.dispose();
    expect(lora.disposed).toBe(true);
    const after = await ctx.complete([1, 100, 200], { temperature: 0, maxTokens: 8 });
    expect(Array.from(after.tokens)).toEqual(Array.from(before.tokens));
    await expect(ctx.setLoras([{ adapter: lora }])).rejects.toThrow(/LoRA adapter has been disposed/);
    await ctx.setLoras([]);
    await ctx.complete([1, 100, 200], { temperature: 0, maxTokens: 4 });
    await ctx.dispose();
  });

  it("setLoras waits for a running generation (queued), and disposing the model disposes its adapters", async () => {
    const m = await loadModel(inject("tinyModel"));
    const lora = await m.loadLora(await writeAdapter(path.join(tmp, "ok4.gguf"), [q]));
    const ctx = await m.createContext({ contextSize: 64 });
    const running = ctx.complete([1, 100, 200], { temperature: 0, maxTokens: 30 });
    const set = ctx.setLoras([{ adapter: lora, scale: 0.5 }]);
    const r = await running;
    expect(r.tokens.length).toBeGreaterThan(0);
    await set;
    expect(ctx.cachedTokens().length).toBe(0); // a new set of adapters cleared the cache
    await m.dispose();
    expect(lora.disposed).toBe(true);
    expect(ctx.disposed).toBe(true);
  });
});

describe("real LoRA present", () => {
  it.runIf(requireRealModel)("is present in CI", () => {
    expect(haveLora, "LLAMA_NATIVE_REQUIRE_REAL_MODEL=1 but stories260K-lora-spark-r4.gguf is missing beside the model").toBe(true);
  });
});

describe.runIf(haveLora)("stories260K + trained LoRA against llama-completion --lora-scaled", () => {
  const oracleFile = path.join(root, "test", "fixtures", "oracles", "lora.json");
  // recorded by scripts/record-feature-oracles.mjs; a missing record fails the first test below
  const oracle: LoraOracle = fs.existsSync(oracleFile)
    ? JSON.parse(fs.readFileSync(oracleFile, "utf8"))
    : { llamaCppCommit: "(not recorded)", modelSha256: "", loraSha256: "", runs: [] };
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(modelPath!);
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("is the model, adapter and llama.cpp revision the oracle was recorded with", () => {
    const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
    const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    expect(oracle.llamaCppCommit).toBe(pin.commit);
    expect(sha(modelPath!)).toBe(oracle.modelSha256);
    expect(sha(loraPath!)).toBe(oracle.loraSha256);
  });

  for (const run of oracle.runs) {
    it(`scale ${run.scale}: greedy ${run.n} tokens equal llama-completion's`, async () => {
      const lora = await model.loadLora(loraPath!);
      const ctx = await model.createContext({ loras: [{ adapter: lora, scale: run.scale }] });
      const r = await ctx.complete(run.prompt, { temperature: 0, maxTokens: run.n });
      expect(r.text).toBe(completionText(run.stdout));
      await ctx.dispose();
      await lora.dispose();
    });
  }

  it("setLoras between generations gives each scale's text on one context", async () => {
    const lora = await model.loadLora(loraPath!);
    const ctx = await model.createContext();
    for (const run of [...oracle.runs].reverse()) {
      await ctx.setLoras([{ adapter: lora, scale: run.scale }]);
      const r = await ctx.complete(run.prompt, { temperature: 0, maxTokens: run.n });
      expect(r.text).toBe(completionText(run.stdout));
    }
    await ctx.dispose();
  });
});

/** llama-completion's stdout without what it adds after the text: "\n\n" at the end. */
function completionText(stdout: string): string {
  expect(stdout.endsWith("\n\n")).toBe(true);
  return stdout.slice(0, -2);
}
