import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const vocabDir = path.join(root, "vendor", "llama.cpp", "models");

/** The real trained model, when this machine has it (../shared/models or LLAMA_NATIVE_TEST_MODEL). */
export function realModelPath(): string | undefined {
  const p = process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
  return fs.existsSync(p) ? p : undefined;
}

/**
 * Under `npm run sanitize` (ASan + UBSan at -O1) native work runs several times slower: time limits
 * of tests that exist to tell "bounded" from "hangs" are scaled by this.
 */
export const timeScale = process.env.LLAMA_NATIVE_SANITIZED === "1" ? 10 : 1;
/**
 * How close a log-probability must be to llama.cpp's. The sanitized build (-O1) contracts floating
 * point operations into FMAs differently from the release build, which moves logits by ~1e-4.
 */
export const logprobTolerance = process.env.LLAMA_NATIVE_SANITIZED === "1" ? 2e-3 : 1e-4;
/**
 * Whether tokens sampled at temperature > 0 must equal a recorded llama.cpp run exactly. Not in the
 * sanitized build: those logit shifts move a sampler's cut (top-n-sigma's, say) past a token now and
 * then. The release build's run proves the equality; the sanitized run exercises the same code.
 */
export const exactSampling = process.env.LLAMA_NATIVE_SANITIZED !== "1";

/** CI sets LLAMA_NATIVE_REQUIRE_REAL_MODEL=1: then a missing real model fails instead of skipping. */
export const requireRealModel = process.env.LLAMA_NATIVE_REQUIRE_REAL_MODEL === "1";

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** Counts event-loop turns while `work` runs: a blocked loop counts ~0. */
export async function ticksDuring<T>(work: Promise<T>, everyMs = 1): Promise<{ result: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, everyMs);
  try {
    const result = await work;
    return { result, ticks };
  } finally {
    clearInterval(timer);
  }
}
