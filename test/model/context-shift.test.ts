// Context shift (createContext({ contextShift })). Oracle: test/fixtures/oracles/context-shift.json,
// what llama.cpp's llama-completion printed generating 400 greedy tokens in a 128-token context with
// --context-shift --keep N --ignore-eos on stories260K (recorded by scripts/record-feature-oracles.mjs,
// the command and llama.cpp commit inside). The rest runs on the generated fixture model.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GgufValueType as T, LlamaError, loadModel, type Model, readGgufInfo, writeGguf } from "../../dist/index.mjs";
import { realModelPath, requireRealModel, root } from "../helpers";

interface ShiftOracle {
  llamaCppCommit: string;
  modelSha256: string;
  runs: { command: string[]; prompt: string; contextSize: number; keep: number; n: number; stdout: string }[];
}

/** logitBias that bans every end-of-generation token: llama.cpp's --ignore-eos. */
function ignoreEos(model: Model): Record<number, number> {
  const bias: Record<number, number> = {};
  for (let t = 0; t < model.vocab.size; t++) if (model.vocab.isEog(t)) bias[t] = -Infinity;
  return bias;
}

describe("context shift (fixture model)", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(inject("tinyModel"));
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("without it a generation ends when the sequence is full; with it, it goes on past the context", async () => {
    const prompt = [1, 300, 301, 302, 303, 304];
    // llama.cpp pads small contexts (to 256 cells here): info says what the sequence holds
    const off = await model.createContext({ contextSize: 64 });
    const n = off.info.sequenceContextSize;
    const a = await off.complete(prompt, { temperature: 0, maxTokens: 2 * n, logitBias: ignoreEos(model) });
    expect(a.stopReason).toBe("contextFull");
    expect(off.info.contextShift).toBe(false);
    const on = await model.createContext({ contextSize: 64, contextShift: { keep: 2 } });
    expect(on.info.contextShift).toBe(true);
    expect(on.info.contextShiftKeep).toBe(2);
    const b = await on.complete(prompt, { temperature: 0, maxTokens: 2 * n, logitBias: ignoreEos(model) });
    expect(b.stopReason).toBe("maxTokens");
    expect(b.tokens.length).toBe(2 * n);
    // identical until the first shift (llama.cpp shifts when n_past + 1 reaches the context)
    const before = n - 1 - prompt.length;
    expect(Array.from(b.tokens.slice(0, before))).toEqual(Array.from(a.tokens.slice(0, before)));
    // the cache keeps BOS + 2 prompt tokens at its start and fits the context
    const cached = on.cachedTokens();
    expect(cached.length).toBeLessThan(n);
    expect(Array.from(cached.slice(0, 3))).toEqual(prompt.slice(0, 3));
    expect(cached[3]).not.toBe(prompt[3]);
    await off.dispose();
    await on.dispose();
  });

  it("keep: -1 keeps the whole prompt; true is keep 0", async () => {
    const prompt = [1, 300, 301, 302, 303, 304];
    const all = await model.createContext({ contextSize: 64, contextShift: { keep: -1 } });
    await all.complete(prompt, { temperature: 0, maxTokens: 2 * all.info.sequenceContextSize, logitBias: ignoreEos(model) });
    expect(Array.from(all.cachedTokens().slice(0, prompt.length))).toEqual(prompt);
    const t = await model.createContext({ contextSize: 64, contextShift: true });
    expect(t.info.contextShiftKeep).toBe(0);
    await t.complete(prompt, { temperature: 0, maxTokens: 2 * t.info.sequenceContextSize, logitBias: ignoreEos(model) });
    expect(t.cachedTokens()[0]).toBe(1);
    expect(t.cachedTokens()[1]).not.toBe(300);
    await all.dispose();
    await t.dispose();
  });

  it("a model whose memory cannot shift (M-RoPE: the fixture as qwen2vl) is refused at createContext", async () => {
    // the fixture's weights under the qwen2vl architecture, whose M-RoPE positions llama.cpp cannot shift
    const src = inject("tinyModel");
    const info = await readGgufInfo(src);
    const bytes = fs.readFileSync(src);
    const metadata = Object.entries(info.metadata).map(([key, value]) => {
      const k = key.startsWith("llama.") ? `qwen2vl.${key.slice(6)}` : key;
      const v = key === "general.architecture" ? "qwen2vl" : value;
      const type = info.metadataTypes[key]!;
      return type === T.ARRAY ? { key: k, type, arrayType: info.metadataArrayTypes[key], value: v } : { key: k, type, value: v };
    });
    metadata.push({ key: "qwen2vl.rope.dimension_sections", type: T.ARRAY, arrayType: T.INT32, value: [4, 4, 0, 0] });
    const tensors = info.tensors.map((t) => {
      const at = bytes.byteOffset + info.dataOffset + t.offset;
      return { name: t.name, shape: t.shape, type: "f32" as const, data: new Float32Array(bytes.buffer.slice(at, at + t.sizeBytes)) };
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-mrope-")), "mrope.gguf");
    await writeGguf(file, { metadata, tensors });
    const m = await loadModel(file);
    const plain = await m.createContext({ contextSize: 64 });
    expect(plain.info.canShift).toBe(false);
    const err = await m.createContext({ contextSize: 64, contextShift: { keep: 0 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlamaError);
    expect((err as Error).message).toMatch(/contextShift is not supported by this model/);
    await m.dispose();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it("bad values are TypeError/RangeError", async () => {
    await expect(model.createContext({ contextShift: 1 as never })).rejects.toThrow(TypeError);
    await expect(model.createContext({ contextShift: null as never })).rejects.toThrow(TypeError);
    await expect(model.createContext({ contextShift: { keep: -2 } })).rejects.toThrow(RangeError);
    await expect(model.createContext({ contextShift: { keep: 1.5 } })).rejects.toThrow(RangeError);
    await expect(model.createContext({ contextShift: { keep: "4" as never } })).rejects.toThrow(TypeError);
    await expect(model.createContext({ contextShift: { kept: 4 } as never })).rejects.toThrow(
      /unknown option "kept" in contextShift options/,
    );
  });
});

describe("real model present (context shift)", () => {
  it.runIf(requireRealModel)("is present in CI", () => {
    expect(realModelPath(), "LLAMA_NATIVE_REQUIRE_REAL_MODEL=1 but ../shared/models/stories260K.gguf is missing").toBeDefined();
  });
});

describe.runIf(realModelPath())("stories260K: 400 tokens in a 128-token context against llama-completion --context-shift", () => {
  const oracleFile = path.join(root, "test", "fixtures", "oracles", "context-shift.json");
  const oracle: ShiftOracle = fs.existsSync(oracleFile)
    ? JSON.parse(fs.readFileSync(oracleFile, "utf8"))
    : { llamaCppCommit: "(not recorded: run scripts/record-feature-oracles.mjs)", modelSha256: "", runs: [] };
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(realModelPath()!);
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("is the model and llama.cpp revision the oracle was recorded with", () => {
    const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
    expect(oracle.llamaCppCommit).toBe(pin.commit);
    expect(createHash("sha256").update(fs.readFileSync(realModelPath()!)).digest("hex")).toBe(oracle.modelSha256);
  });

  for (const run of oracle.runs) {
    it(`keep ${run.keep}: the greedy text equals llama-completion's`, async () => {
      const ctx = await model.createContext({ contextSize: run.contextSize, contextShift: { keep: run.keep } });
      const r = await ctx.complete(run.prompt, { temperature: 0, maxTokens: run.n, logitBias: ignoreEos(model) });
      expect(r.tokens.length).toBe(run.n);
      expect(r.text).toBe(completionText(run.stdout));
      await ctx.dispose();
    });
  }
});

/** llama-completion's stdout without what it adds after the text: "\n\n" at the end. */
function completionText(stdout: string): string {
  expect(stdout.endsWith("\n\n")).toBe(true);
  return stdout.slice(0, -2);
}
