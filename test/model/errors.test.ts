// Errors are typed by construction: the addon makes every error it raises through the factory
// src/errors.ts registers, and every JS-callable native function runs inside Guarded (native/common.h).
// These tests call every public method, and every method of the raw native objects, in a failing state
// and check the class of what comes back. Methods are found by reflection, so a method added later
// without a case here fails the test.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Context, DisposedError, LlamaError, Model, Sequence, loadModel } from "../../dist/index.mjs";
import { binding } from "../../dist/binding.js";

// How to call each method (arguments that are valid apart from the failing state).
const ARGS: Record<string, unknown[]> = {
  tokenize: ["x"],
  detokenize: [[1]],
  tokenToPiece: [1],
  createContext: [{ contextSize: 64 }],
  generate: ["x", { maxTokens: 1 }],
  generateChat: ["x", { maxTokens: 1 }, ""],
  complete: ["x", { maxTokens: 1 }],
  embed: ["x"],
  rank: ["q", ["d"]],
  cachedTokens: [],
  clearCache: [],
  getSequence: [],
  setLoras: [[]],
  getState: [],
  setState: [new Uint8Array(0)],
  saveState: ["/tmp/llama-native-never-written.state"],
  loadState: ["/tmp/llama-native-never-read.state"],
  loadLora: ["/tmp/llama-native-never-read-lora.gguf"],
  loadProjector: ["/tmp/llama-native-never-read-mmproj.gguf"],
  chat: [[{ role: "user", content: "x" }], { maxTokens: 1 }],
  chatComplete: [[{ role: "user", content: "x" }], { maxTokens: 1 }],
  createChatSession: [],
  applyChatTemplate: [[{ role: "user", content: "x" }]],
  chatTemplates: [],
};

// @internal members (not in the published types) that other modules of the package call
const INTERNAL = new Set(["forgetContext", "isOf"]);

function methods(proto: object): string[] {
  return Object.getOwnPropertyNames(proto).filter((n) => {
    if (n === "constructor" || n === "dispose" || INTERNAL.has(n)) return false;
    const d = Object.getOwnPropertyDescriptor(proto, n)!;
    return typeof d.value === "function";
  });
}

async function outcome(fn: () => unknown): Promise<unknown> {
  try {
    const r = fn();
    if (r && typeof (r as AsyncGenerator).next === "function") await (r as AsyncGenerator).next();
    else await r;
    return undefined;
  } catch (e) {
    return e;
  }
}

let model: Model;
beforeAll(async () => {
  model = await loadModel(inject("tinyModel"));
});
afterAll(async () => {
  await model?.dispose();
});

describe("every public method in a failing state", () => {
  it("a disposed Context: every method is a DisposedError", async () => {
    const ctx = await model.createContext({ contextSize: 64 });
    await ctx.dispose();
    for (const name of methods(Context.prototype)) {
      expect(ARGS, `no arguments known for Context.${name}`).toHaveProperty(name);
      const e = await outcome(() => (ctx as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...ARGS[name]!));
      expect(e, `Context.${name}`).toBeInstanceOf(DisposedError);
    }
  });

  it("a disposed Sequence: every method is a DisposedError", async () => {
    const ctx = await model.createContext({ contextSize: 64 });
    const seq = ctx.getSequence();
    await seq.dispose();
    for (const name of methods(Sequence.prototype)) {
      expect(ARGS, `no arguments known for Sequence.${name}`).toHaveProperty(name);
      const e = await outcome(() => (seq as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...ARGS[name]!));
      expect(e, `Sequence.${name}`).toBeInstanceOf(DisposedError);
    }
    await ctx.dispose();
  });

  it("a disposed Model: every method (and vocab.isEog) is a DisposedError", async () => {
    const m = await loadModel(inject("tinyModel"));
    await m.dispose();
    for (const name of methods(Model.prototype)) {
      expect(ARGS, `no arguments known for Model.${name}`).toHaveProperty(name);
      const e = await outcome(() => (m as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...ARGS[name]!));
      expect(e, `Model.${name}`).toBeInstanceOf(DisposedError);
    }
    expect(await outcome(() => m.vocab.isEog(2))).toBeInstanceOf(DisposedError);
  });

  it("a busy context: reading the cache during a generation is a LlamaError, not a plain Error", async () => {
    const ctx = await model.createContext({ contextSize: 256 });
    const it = ctx.generate("x", { maxTokens: 200, temperature: 0 });
    await it.next();
    const e = await outcome(() => ctx.cachedTokens());
    expect(e).toBeInstanceOf(LlamaError);
    expect((e as LlamaError).code).toBe("ERR_LLAMA");
    await it.return(undefined as never);
    await ctx.dispose();
  });
});

describe("every raw native method in a failing state", () => {
  it("disposed native objects raise DisposedError through the registered factory", async () => {
    const b = binding();
    const m = await loadModel(inject("tinyModel"));
    const nativeCtx = await b.Context.create(m.native, {
      contextSize: 64,
      batchSize: 64,
      ubatchSize: 64,
      sequences: 1,
      threads: 1,
      batchThreads: 1,
      threadPoll: 0,
      adaptiveThreads: true,
      embeddings: false,
      pooling: "default",
      unifiedKvCache: false,
      contextShift: false,
      contextShiftKeep: 0,
      speculative: "none",
      draftMax: 3,
      draftMin: 0,
      draftPMin: 0,
      ngramSizeN: 12,
      ngramSizeM: 48,
    });
    nativeCtx.dispose();
    const rawArgs: Record<string, unknown[]> = {
      generate: [new Int32Array([1]), {}, new b.AbortFlag(), () => {}],
      embed: [[new Int32Array([1])], true, new b.AbortFlag()],
      info: [],
      cachedTokens: [],
      clearCache: [],
      acquireSequence: [],
      releaseSequence: [0],
      setLoras: [[]],
      getState: [0],
      setState: [0, new Uint8Array(0)],
      saveState: [0, "/tmp/llama-native-never-written.state"],
    };
    for (const name of methods(Object.getPrototypeOf(nativeCtx))) {
      expect(rawArgs, `no arguments known for native Context.${name}`).toHaveProperty(name);
      const e = await outcome(() => (nativeCtx as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...rawArgs[name]!));
      expect(e, `native Context.${name}`).toBeInstanceOf(DisposedError);
    }
    const nativeModel = m.native;
    await m.dispose();
    const modelArgs: Record<string, unknown[]> = {
      tokenize: ["x", true, false],
      detokenize: [[1], false, false],
      tokenToPiece: [1, true],
      isEog: [1],
      info: [],
      vocab: [],
    };
    for (const name of methods(Object.getPrototypeOf(nativeModel))) {
      expect(modelArgs, `no arguments known for native Model.${name}`).toHaveProperty(name);
      const e = await outcome(() => (nativeModel as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...modelArgs[name]!));
      expect(e, `native Model.${name}`).toBeInstanceOf(DisposedError);
    }
  });
});
