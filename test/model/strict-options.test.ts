// Every options object of the public API is strict: an unknown key is a TypeError that names it and,
// when a known key is close, the one it was probably meant to be. The table below walks every entry
// point; the first test proves the table covers every options declaration in src/ (a new entry point
// that declares options without a case here fails it).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Context, type Model, loadModel, quantize, readGgufInfo } from "../../dist/index.mjs";
import { declaredOptions } from "../../dist/options.js";
import { llamaNative } from "../../dist/ai-sdk/index.mjs";

let model: Model;
let ctx: Context;
let emb: Context;

beforeAll(async () => {
  model = await loadModel(inject("tinyModel"));
  ctx = await model.createContext({ contextSize: 128 });
  emb = await model.createContext({ contextSize: 64, embeddings: true });
});
afterAll(async () => {
  await model?.dispose();
});

type Case = [options: string, call: () => unknown, key: string, suggestion?: string];

const cases = (): Case[] => [
  ["loadModel options", () => loadModel(inject("tinyModel"), { gpuLayer: 0 } as never), "gpuLayer", "gpuLayers"],
  ["loadModel options", () => loadModel(inject("tinyModel"), { rpcServer: ["127.0.0.1:50052"] } as never), "rpcServer", "rpcServers"],
  ["loadModel options", () => loadModel(inject("tinyModel"), { tensorsplit: [1] } as never), "tensorsplit", "tensorSplit"],
  ["preflight options", () => loadModel(inject("tinyModel"), { preflight: { timeout: 5 } } as never), "timeout", "timeoutMs"],
  ["loadModel options", () => loadModel(inject("tinyModel"), { projectr: "mmproj.gguf" } as never), "projectr", "projector"],
  ["projector options", () => model.loadProjector("/tmp/never-read-mmproj.gguf", { thread: 1 } as never), "thread", "threads"],
  ["media item", () => ctx.complete("<__media__> x", { media: [{ type: "image", dat: new Uint8Array(1) }] } as never), "dat", "data"],
  ["createContext options", () => model.createContext({ contextsize: 128 } as never), "contextsize", "contextSize"],
  ["createContext options", () => model.createContext({ lora: [] } as never), "lora", "loras"],
  ["contextShift options", () => model.createContext({ contextShift: { keepTokens: 4 } } as never), "keepTokens"],
  ["speculative options", () => model.createContext({ speculative: { ngrams: true } } as never), "ngrams", "ngram"],
  ["speculative.draft options", () => model.createContext({ speculative: { draft: { model, pmin: 0.5 } } } as never), "pmin", "pMin"],
  ["speculative.ngram options", () => model.createContext({ speculative: { ngram: { sizeM: 4, sizem: 4 } } } as never), "sizem", "sizeM"],
  ["LoRA spec", () => ctx.setLoras([{ adaptor: null, scale: 1 }] as never), "adaptor", "adapter"],
  ["state options", () => ctx.getState({ sequnce: 0 } as never), "sequnce", "sequence"],
  ["generate options", () => ctx.generate("x", { temprature: 0 } as never).next(), "temprature", "temperature"],
  ["generate options", () => ctx.complete("x", { maxToken: 2 } as never), "maxToken", "maxTokens"],
  ["generate options", () => ctx.complete("x", { topLogProbs: 2 } as never), "topLogProbs", "topLogprobs"],
  ["xtc options", () => ctx.complete("x", { xtc: { probability: 0.5, treshold: 0.1 } } as never), "treshold", "threshold"],
  ["dry options", () => ctx.complete("x", { dry: { multiplier: 1, allowedLenght: 2 } } as never), "allowedLenght", "allowedLength"],
  ["mirostat options", () => ctx.complete("x", { mirostat: { version: 2, tua: 5 } } as never), "tua", "tau"],
  ["generate options", () => ctx.complete("x", { topk: 2 } as never), "topk", "topK"],
  ["embed options", () => emb.embed("x", { normalise: true } as never), "normalise", "normalize"],
  ["rank options", () => emb.rank("x", ["y"], { signl: undefined } as never), "signl", "signal"],
  ["tokenize options", () => model.tokenize("x", { addspecial: false } as never), "addspecial", "addSpecial"],
  ["detokenize options", () => model.detokenize([1], { removeSpecials: true } as never), "removeSpecials", "removeSpecial"],
  ["tokenToPiece options", () => model.tokenToPiece(1, { speical: true } as never), "speical", "special"],
  ["readGgufInfo options", () => readGgufInfo(inject("tinyModel"), { metadataOnly: true } as never), "metadataOnly"],
  ["applyChatTemplate options", () => model.applyChatTemplate([{ role: "user", content: "x" }], { tool: [] } as never), "tool", "tools"],
  ["chat options", () => ctx.chatComplete([{ role: "user", content: "x" }], { toolchoice: "auto" } as never), "toolchoice", "toolChoice"],
  ["chat options", () => ctx.chat([{ role: "user", content: "x" }], { maxToken: 2 } as never).next(), "maxToken", "maxTokens"],
  ["createChatSession options", () => ctx.createChatSession({ sytem: "x" } as never), "sytem", "system"],
  ["generate options", () => ctx.complete("x", { responseFormats: { type: "json_object" } } as never), "responseFormats", "responseFormat"],
  ["llamaNative options", () => llamaNative({ model, contxt: {} } as never), "contxt", "context"],
  ['ai-sdk providerOptions["llama-native"]', () => llamaNative({ model }).languageModel({ minp: 0.1 } as never), "minp", "minP"],
  [
    "quantize options",
    () => quantize(inject("tinyModel"), "/tmp/never-written.gguf", { type: "Q8_0", thread: 1 } as never),
    "thread",
    "threads",
  ],
];

describe("strict options", () => {
  it("the cases below cover every options declaration", () => {
    const covered = new Set(cases().map(([where]) => where));
    expect([...declaredOptions().keys()].filter((w) => !covered.has(w))).toEqual([]);
  });

  for (const [where, , key, suggestion] of cases()) {
    it(`${where}: ${JSON.stringify(key)} is refused${suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ""}`, async () => {
      const call = cases().find((c) => c[0] === where && c[2] === key)![1];
      let err: unknown;
      try {
        await call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      const message = (err as Error).message;
      expect(message).toContain(`unknown option ${JSON.stringify(key)} in ${where}`);
      if (suggestion) expect(message).toContain(`did you mean ${JSON.stringify(suggestion)}?`);
      else expect(message).not.toContain("did you mean");
    });
  }

  it("a correctly spelt option still works next to the check", async () => {
    const r = await ctx.complete("x", { temperature: 0, maxTokens: 2 });
    expect(r.timings.generatedTokens).toBeLessThanOrEqual(2);
  });
});
