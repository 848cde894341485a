// Writes the generated fixture models once per run (they are git-ignored and rebuilt when absent).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const fixtureDir = path.join(root, "test", "fixtures", "generated");

export default async function setup(project: TestProject) {
  const { makeRandomLlama, TINY_FIXTURE } = await import(path.join(root, "scripts", "make-model.mjs"));
  const files: Record<string, string> = {};
  for (const type of ["f32", "f16", "q8_0", "q4_0"]) {
    const file = path.join(fixtureDir, `tiny-llama-${type}-v2.gguf`);
    if (!fs.existsSync(file)) await makeRandomLlama({ ...TINY_FIXTURE, out: file, type });
    files[type] = file;
  }
  project.provide("tinyModel", files.f32!);
  project.provide("tinyModelF16", files.f16!);
  project.provide("tinyModelQ8_0", files.q8_0!);
  project.provide("tinyModelQ4_0", files.q4_0!);
}

declare module "vitest" {
  export interface ProvidedContext {
    tinyModel: string;
    tinyModelF16: string;
    tinyModelQ8_0: string;
    tinyModelQ4_0: string;
  }
}
