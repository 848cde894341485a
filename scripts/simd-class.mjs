// Which SIMD width this CPU's ggml kernels use, for oracles whose numbers depend on it.
//
// llama.cpp built with GGML_NATIVE (the tools the oracles come from, and the addon the tests load)
// sums dot products 16 floats at a time with AVX-512 and 8 at a time with AVX2: the same model and
// request give log-probabilities that differ by ~1e-3 between the two, and a temperature > 0
// sampler can then pick another token at a near-tie. Greedy text and embeddings within 1e-4 do not
// depend on it; recorded logprobs and sampled tokens do. Such an oracle is recorded per class:
// `<name>.json` holds one class (its `simd` field says which; recordings made before the field
// existed were made on AVX-512 machines), `<name>.<class>.json` the others.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** "avx512", "avx2" or "x86" on x86-64 (from /proc/cpuinfo's flags); the architecture elsewhere. */
export function simdClass() {
  if (os.arch() !== "x64") return os.arch();
  let flags = "";
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  } catch {
    return "x86"; // not Linux: no cpuinfo to read
  }
  const has = (f) => new RegExp(`\\s${f}(\\s|$)`).test(flags);
  if (has("avx512f")) return "avx512";
  if (has("avx2")) return "avx2";
  return "x86";
}

/** The class a recording was made on (`simd`; before the field existed, AVX-512). */
export const recordedClass = (oracle) => oracle.simd ?? "avx512";

/**
 * The oracle file for this CPU's class: `<dir>/<name>.<class>.json` when one was recorded, else
 * `<dir>/<name>.json` (whose `simd` may be another class: the test says so and how to record one).
 */
export function oracleFileFor(dir, name, cls = simdClass()) {
  const own = path.join(dir, `${name}.${cls}.json`);
  return fs.existsSync(own) ? own : path.join(dir, `${name}.json`);
}

/** Where a recorder writes: `<name>.json` if it is absent or of this class, else `<name>.<class>.json`. */
export function oracleFileToWrite(dir, name, cls = simdClass()) {
  const main = path.join(dir, `${name}.json`);
  if (!fs.existsSync(main)) return main;
  return recordedClass(JSON.parse(fs.readFileSync(main, "utf8"))) === cls ? main : path.join(dir, `${name}.${cls}.json`);
}
