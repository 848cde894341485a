// Sequence state save and restore: continuation after a restore equals an uninterrupted run, the
// bytes are llama.cpp's sequence-state file format (saveState writes with llama_state_seq_save_file,
// getState returns the same bytes), and states that do not fit are InvalidStateError.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Context, InvalidStateError, loadModel, type Model } from "../../dist/index.mjs";
import { makeRandomLlama } from "../../scripts/make-model.mjs";
import { realModelPath } from "../helpers";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-state-"));
const PROMPT = [1, 400, 500, 600, 700];
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function continuationCase(model: Model, prompt: string | number[], first: number, rest: number) {
  // uninterrupted
  const a = await model.createContext({ contextSize: 256 });
  const whole = await a.complete(prompt, { temperature: 0, maxTokens: first + rest });
  await a.dispose();
  // interrupted: generate `first`, save, restore into a fresh context, go on
  const b = await model.createContext({ contextSize: 256 });
  const head = await b.complete(prompt, { temperature: 0, maxTokens: first });
  const file = path.join(tmp, `cont-${Math.random()}.bin`);
  await b.saveState(file);
  const cached = b.cachedTokens();
  await b.dispose();
  const c = await model.createContext({ contextSize: 256 });
  expect(await c.loadState(file)).toBe(cached.length);
  expect(Array.from(c.cachedTokens())).toEqual(Array.from(cached));
  const promptTokens = typeof prompt === "string" ? Array.from(model.tokenize(prompt)) : prompt;
  const tail = await c.complete([...promptTokens, ...head.tokens], { temperature: 0, maxTokens: rest });
  await c.dispose();
  return { whole, head, tail, cached };
}

describe("state save and restore (fixture model)", () => {
  let model: Model;
  let ctx: Context;
  beforeAll(async () => {
    model = await loadModel(inject("tinyModel"));
    ctx = await model.createContext({ contextSize: 128, sequences: 2 });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("greedy continuation after a restore equals an uninterrupted run, and the restored prefix is reused", async () => {
    const { whole, head, tail, cached } = await continuationCase(model, PROMPT, 12, 20);
    expect(Array.from(head.tokens)).toEqual(Array.from(whole.tokens.slice(0, 12)));
    expect(Array.from(tail.tokens)).toEqual(Array.from(whole.tokens.slice(12)));
    expect(tail.timings.reusedTokens).toBe(cached.length);
    expect(tail.timings.evaluatedPromptTokens).toBe(PROMPT.length + 12 - cached.length);
  });

  it("getState returns the bytes saveState writes (llama_state_seq_save_file), in the 'ggsq' v3 format", async () => {
    await ctx.clearCache();
    await ctx.complete(PROMPT, { temperature: 0, maxTokens: 6, sequence: 1 });
    const bytes = await ctx.getState({ sequence: 1 });
    const file = path.join(tmp, "s1.bin");
    const written = await ctx.saveState(file, { sequence: 1 });
    expect(written).toBe(bytes.length);
    expect(Buffer.compare(fs.readFileSync(file), Buffer.from(bytes))).toBe(0);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(dv.getUint32(0, true)).toBe(0x67677371); // LLAMA_STATE_SEQ_MAGIC
    expect(dv.getUint32(4, true)).toBe(3); // LLAMA_STATE_SEQ_VERSION
    expect(dv.getUint32(8, true)).toBe(ctx.cachedTokens(1).length);
    // into the other sequence, and back
    expect(await ctx.setState(bytes, { sequence: 0 })).toBe(ctx.cachedTokens(1).length);
    expect(Array.from(ctx.cachedTokens(0))).toEqual(Array.from(ctx.cachedTokens(1)));
    const again = await ctx.complete([...ctx.cachedTokens(0), 42], { temperature: 0, maxTokens: 3, sequence: 0 });
    expect(again.timings.reusedTokens).toBe(ctx.cachedTokens(1).length);
    // an empty sequence saves and restores as empty
    await ctx.clearCache(1);
    const empty = await ctx.getState({ sequence: 1 });
    expect(await ctx.setState(empty, { sequence: 0 })).toBe(0);
    expect(ctx.cachedTokens(0).length).toBe(0);
  });

  it("works on Sequence objects", async () => {
    const s = ctx.getSequence();
    await s.complete(PROMPT, { temperature: 0, maxTokens: 5 });
    const bytes = await s.getState();
    await s.clearCache();
    expect(await s.setState(bytes)).toBe(bytes.length > 20 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true) : 0);
    const file = path.join(tmp, "seq.bin");
    await s.saveState(file);
    expect(await s.loadState(file)).toBe(s.cachedTokens().length);
    await expect(ctx.getState({ sequence: s.id })).rejects.toThrow(/owned by a Sequence object/);
    await s.dispose();
    await expect(s.getState()).rejects.toThrow(/sequence has been disposed/);
  });

  it("bad arguments are TypeError/RangeError", async () => {
    await expect(ctx.getState({ sequence: 2 })).rejects.toThrow(RangeError);
    await expect(ctx.getState({ sequence: 1.5 })).rejects.toThrow(RangeError);
    await expect(ctx.getState({ sequence: "0" as never })).rejects.toThrow(TypeError);
    await expect(ctx.getState({ seq: 0 } as never)).rejects.toThrow(/unknown option "seq" in state options/);
    await expect(ctx.setState([1, 2, 3] as never)).rejects.toThrow(TypeError);
    await expect(ctx.saveState("" as never)).rejects.toThrow(TypeError);
    await expect(ctx.loadState(42 as never)).rejects.toThrow(TypeError);
  });

  describe("states that do not fit are InvalidStateError, and the context stays usable", () => {
    let good: Uint8Array;
    beforeAll(async () => {
      await ctx.clearCache();
      await ctx.complete(PROMPT, { temperature: 0, maxTokens: 10, sequence: 0 });
      good = await ctx.getState({ sequence: 0 });
    });
    const cases: [string, (g: Uint8Array) => Uint8Array | Promise<Uint8Array>, RegExp][] = [
      ["empty", () => new Uint8Array(0), /shorter than a sequence-state header/],
      ["not a state", () => new TextEncoder().encode("GGUF and then some more bytes"), /no 'ggsq' magic/],
      ["another version", (g) => withU32(g, 4, 2), /sequence-state version 2/],
      ["truncated in the tokens", (g) => g.subarray(0, 20), /cut short in its token list/],
      ["truncated in the KV data", (g) => g.subarray(0, g.length - 7), /cut short|does not end where/],
      ["padded", (g) => concat(g, new Uint8Array(16)), /does not end where|follows the end/],
      ["a token outside the vocabulary", (g) => withU32(g, 12, 0x7fffffff), /outside this model's vocabulary/],
      ["more tokens than the context holds", (g) => withU32(g, 8, 100000), /holds 100000 tokens/],
      ["a cell position outside the tokens", (g) => withU32(g, firstCell(g), 9999), /position 9999/],
      ["two cells at one position", (g) => withU32(g, firstCell(g) + 12, 0), /two cells are at position 0/],
      ["a cell in two sequences", (g) => withU32(g, firstCell(g) + 4, 2), /belongs to 2 sequences/],
      ["a wrong layer count", (g) => withU32(g, firstCell(g) + 12 * cells(g) + 4, 7), /layers|does not end|cut short/],
      ["a wrong K type", (g) => withU32(g, firstCell(g) + 12 * cells(g) + 8, 0), /does not fit this context/],
    ];
    for (const [what, make, msg] of cases) {
      it(what, async () => {
        const err = await ctx.setState(await make(good), { sequence: 1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidStateError);
        expect((err as Error).message).toMatch(msg);
        expect(ctx.cachedTokens(1).length).toBe(0);
        const r = await ctx.complete(PROMPT, { temperature: 0, maxTokens: 2, sequence: 1 });
        expect(r.tokens.length).toBe(2);
      });
    }

    it("a state of another model (other dimensions)", async () => {
      const file = path.join(tmp, "other.gguf");
      await makeRandomLlama({ out: file, embd: 32, layers: 2, heads: 2, headsKv: 1, ff: 64, ctx: 128, seed: 5 });
      const other = await loadModel(file);
      const octx = await other.createContext({ contextSize: 128 });
      await octx.complete(PROMPT, { temperature: 0, maxTokens: 4 });
      const foreign = path.join(tmp, "foreign.bin");
      await octx.saveState(foreign);
      await other.dispose();
      const err = await ctx.loadState(foreign, { sequence: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidStateError);
      expect((err as Error).message).toMatch(/does not fit this context/);
      await expect(ctx.loadState(path.join(tmp, "missing.bin"))).rejects.toThrow(/cannot read the state file .*no such file/);
    });

    it("a state of a context with another sequence layout", async () => {
      const one = await model.createContext({ contextSize: 128 });
      const err = await one.setState(good).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidStateError);
      await one.dispose();
    });
  });
});

describe.runIf(realModelPath())("state save and restore (stories260K)", () => {
  it("greedy continuation of a story after a restore equals the uninterrupted story", async () => {
    const model = await loadModel(realModelPath()!);
    const { whole, head, tail } = await continuationCase(model, "Once upon a time", 30, 60);
    expect(model.detokenize([...head.tokens, ...tail.tokens])).toBe(model.detokenize(whole.tokens));
    expect(Array.from(tail.tokens)).toEqual(Array.from(whole.tokens.slice(30)));
    await model.dispose();
  });
});

function withU32(g: Uint8Array, at: number, value: number): Uint8Array {
  const c = new Uint8Array(g);
  new DataView(c.buffer).setUint32(at, value >>> 0, true);
  return c;
}
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a);
  c.set(b, a.length);
  return c;
}
/** Offset of the first cell record: header, tokens, n_stream, then each stream's cell count until the non-empty one. */
function firstCell(g: Uint8Array): number {
  const dv = new DataView(g.buffer, g.byteOffset, g.byteLength);
  let at = 12 + 4 * dv.getUint32(8, true);
  const streams = dv.getUint32(at, true);
  at += 4;
  for (let s = 0; s < streams; s++) {
    const n = dv.getUint32(at, true);
    at += 4;
    if (n > 0) return at;
  }
  throw new Error("no cells");
}
function cells(g: Uint8Array): number {
  return new DataView(g.buffer, g.byteOffset, g.byteLength).getUint32(firstCell(g) - 4, true);
}
