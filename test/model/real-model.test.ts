// Oracle: llama.cpp's own tools on the real trained model stories260K (../shared/models).
// test/fixtures/oracles/stories260K.json holds what llama-simple and llama-embedding printed, with
// the exact commands and the llama.cpp commit (recorded by scripts/record-oracles.mjs).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, type Model } from "../../dist/index.mjs";
import { cosine, realModelPath, requireRealModel, root } from "../helpers";

interface Oracle {
  llamaCppCommit: string;
  modelSha256: string;
  generation: { command: string[]; prompt: string; n: number; stdout: string }[];
  embeddings: { command: string[]; text: string; pooling: "mean" | "last"; embedding: number[] }[];
}

const modelPath = realModelPath();
const oracle: Oracle = JSON.parse(fs.readFileSync(path.join(root, "test", "fixtures", "oracles", "stories260K.json"), "utf8"));
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));

describe("real model present", () => {
  it.runIf(requireRealModel)("is present in CI", () => {
    expect(modelPath, "LLAMA_NATIVE_REQUIRE_REAL_MODEL=1 but ../shared/models/stories260K.gguf is missing").toBeDefined();
  });
});

describe.runIf(modelPath)("stories260K against llama.cpp's own tools", () => {
  let model: Model;
  // llama-simple prints each prompt token's piece first (special tokens rendered: BOS is "<s>").
  const promptPiecesOf = (prompt: string) =>
    Array.from(model.tokenize(prompt, { parseSpecial: true }), (t) => model.tokenToPiece(t)).join("");
  beforeAll(async () => {
    model = await loadModel(modelPath!);
  });
  afterAll(async () => {
    await model?.dispose();
    // CI checks this marker: the suite really ran.
    fs.writeFileSync(path.join(root, "test", ".real-model-suite-ran"), new Date().toISOString());
  });

  it("is the model and llama.cpp revision the oracle was recorded with", () => {
    const sha = createHash("sha256").update(fs.readFileSync(modelPath!)).digest("hex");
    expect(sha).toBe(oracle.modelSha256);
    expect(oracle.llamaCppCommit).toBe(pin.commit);
    expect(model.info.layers).toBe(5);
    expect(model.info.vocabSize).toBe(512);
  });

  for (const [i, g] of oracle.generation.entries()) {
    it(`greedy continuation #${i} equals llama-simple: ${JSON.stringify(g.prompt)} -n ${g.n}`, async () => {
      const ctx = await model.createContext();
      const r = await ctx.complete(g.prompt, { temperature: 0, maxTokens: g.n });
      // llama-simple prints each prompt token's piece (special tokens rendered: BOS is "<s>"),
      // then each generated piece, then a newline.
      const promptPieces = promptPiecesOf(g.prompt);
      expect(promptPieces + r.text + "\n").toBe(g.stdout);
      expect(r.stopReason === "maxTokens" || r.stopReason === "eog").toBe(true);
      await ctx.dispose();
    });
  }

  it("gives llama-simple's continuation when the prompt is decoded in small chunks and from a warm cache", async () => {
    const g = oracle.generation.at(-1)!;
    const ctx = await model.createContext({ batchSize: 4 });
    const promptPieces = promptPiecesOf(g.prompt);
    const cold = await ctx.complete(g.prompt, { temperature: 0, maxTokens: g.n });
    expect(cold.timings.evaluatedPromptTokens).toBeGreaterThan(4);
    expect(promptPieces + cold.text + "\n").toBe(g.stdout);
    const warm = await ctx.complete(g.prompt, { temperature: 0, maxTokens: g.n });
    expect(warm.timings.reusedTokens).toBe(model.tokenize(g.prompt).length - 1);
    expect(warm.text).toBe(cold.text);
    await ctx.dispose();
  });

  it("concurrent streams on one context (4 sequences, 8 requests) each give llama-simple's continuation", async () => {
    const ctx = await model.createContext({ sequences: 4 });
    const requests = [...oracle.generation, ...oracle.generation];
    const results = await Promise.all(requests.map((g) => ctx.complete(g.prompt, { temperature: 0, maxTokens: g.n })));
    for (const [i, g] of requests.entries()) expect(promptPiecesOf(g.prompt) + results[i]!.text + "\n").toBe(g.stdout);
    expect(new Set(results.map((r) => r.sequence)).size).toBe(4);
    await ctx.dispose();
  });

  it("streams the same text as complete(), chunk by chunk", async () => {
    const g = oracle.generation[0]!;
    const ctx = await model.createContext();
    let text = "";
    let n = 0;
    for await (const chunk of ctx.generate(g.prompt, { temperature: 0, maxTokens: g.n })) {
      text += chunk.text;
      n += chunk.tokens.length;
    }
    const promptPieces = promptPiecesOf(g.prompt);
    expect(promptPieces + text + "\n").toBe(g.stdout);
    expect(n).toBe(g.n);
    await ctx.dispose();
  });

  for (const pooling of ["mean", "last"] as const) {
    it(`embeddings (${pooling} pooling) match llama-embedding with cosine >= 0.9999`, async () => {
      const cases = oracle.embeddings.filter((e) => e.pooling === pooling);
      expect(cases.length).toBeGreaterThan(0);
      const ctx = await model.createContext({ embeddings: true, pooling });
      const batched = await ctx.embed(cases.map((c) => c.text));
      for (const [i, c] of cases.entries()) {
        const expected = Float32Array.from(c.embedding);
        const single = await ctx.embed(c.text);
        expect(single.length).toBe(expected.length);
        expect(cosine(single, expected)).toBeGreaterThanOrEqual(0.9999);
        expect(cosine(batched[i]!, expected)).toBeGreaterThanOrEqual(0.9999);
      }
      await ctx.dispose();
    });
  }
});
