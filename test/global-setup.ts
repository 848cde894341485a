// Writes the generated fixture models once per run (they are git-ignored and rebuilt when absent).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const fixtureDir = path.join(root, "test", "fixtures", "generated");

export default async function setup(project: TestProject) {
  const { makeRandomLlama } = await import(path.join(root, "scripts", "make-model.mjs"));
  const tiny = path.join(fixtureDir, "tiny-llama-f32-v2.gguf");
  if (!fs.existsSync(tiny)) await makeRandomLlama({ out: tiny, embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, ctx: 256, type: "f32", seed: 7, outputSigma: 1 });
  const tiny16 = path.join(fixtureDir, "tiny-llama-f16-v2.gguf");
  if (!fs.existsSync(tiny16)) await makeRandomLlama({ out: tiny16, embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, ctx: 256, type: "f16", seed: 7, outputSigma: 1 });
  project.provide("tinyModel", tiny);
  project.provide("tinyModelF16", tiny16);
}

declare module "vitest" {
  export interface ProvidedContext {
    tinyModel: string;
    tinyModelF16: string;
  }
}
