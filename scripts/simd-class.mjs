// Which SIMD width this CPU's ggml kernels use, for oracles whose numbers depend on it.
//
// llama.cpp built with GGML_NATIVE (the tools the oracles come from, and the addon the tests load)
// sums dot products 16 floats at a time with AVX-512 and 8 at a time with AVX2: the same model and
// request give log-probabilities that differ by ~1e-3 between the two, and a temperature > 0
// sampler can then pick another token at a near-tie. Greedy text and embeddings within 1e-4 do not
// depend on it; recorded logprobs and sampled tokens do. Such an oracle is recorded per class:
// `<name>.json` holds one class (its `simd` field says which; recordings made before the field
// existed were made on AVX-512 machines), `<name>.<class>.json` the others.
//
// Within a class the CPU model can matter too, greedy text included: on an AMD EPYC of family 26
// (Zen 5, whose flags add avx_vnni and avx512_vp2intersect), llama-server and llama-native, both
// built with GGML_NATIVE (-march=native) there, decoded one near-tie of
// test/fixtures/oracles/chat-e2e.json's Llama 3.2 "plain" case to another word than on the AVX-512
// machines it was recorded and passed on (2026-12-05; the other 19 cases, logprobs included, the
// same). For that, a recorder can write `<name>.cpu-<cpuId>.json` (--this-cpu), which
// oracleFileFor prefers on that CPU model.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// /proc/cpuinfo, undefined where there is none (not Linux); a field of its first CPU.
function cpuinfo() {
  try {
    return fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return undefined;
  }
}
const field = (info, key) => new RegExp(`^${key}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();

/** "avx512", "avx2" or "x86" on x86-64 (from /proc/cpuinfo's flags); the architecture elsewhere. */
export function simdClass() {
  if (os.arch() !== "x64") return os.arch();
  const info = cpuinfo();
  if (info === undefined) return "x86"; // not Linux: no cpuinfo to read
  const flags = field(info, "flags") ?? "";
  const has = (f) => new RegExp(`(^|\\s)${f}(\\s|$)`).test(flags);
  if (has("avx512f")) return "avx512";
  if (has("avx2")) return "avx2";
  return "x86";
}

/**
 * This CPU model, for recordings that differ between models of one class: "<vendor>-f<family>m<model>"
 * from /proc/cpuinfo ("AuthenticAMD-f26m2"); undefined where there is no cpuinfo to read.
 */
export function cpuId() {
  const info = cpuinfo();
  if (info === undefined) return undefined;
  const vendor = field(info, "vendor_id") ?? field(info, "CPU implementer");
  const family = field(info, "cpu family") ?? field(info, "CPU architecture");
  const model = field(info, "model") ?? field(info, "CPU part");
  if (vendor === undefined || family === undefined || model === undefined) return undefined;
  return `${vendor}-f${family}m${model}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** The class a recording was made on (`simd`; before the field existed, AVX-512). */
export const recordedClass = (oracle) => oracle.simd ?? "avx512";

/**
 * The oracle file for this CPU: `<dir>/<name>.cpu-<cpuId>.json` when one was recorded on this CPU
 * model, else `<dir>/<name>.<class>.json` when one was recorded for its class, else
 * `<dir>/<name>.json` (whose `simd` may be another class: the test says so and how to record one).
 */
export function oracleFileFor(dir, name, cls = simdClass(), cpu = cpuId()) {
  const model = cpu === undefined ? undefined : path.join(dir, `${name}.cpu-${cpu}.json`);
  if (model !== undefined && fs.existsSync(model)) return model;
  const own = path.join(dir, `${name}.${cls}.json`);
  return fs.existsSync(own) ? own : path.join(dir, `${name}.json`);
}

/**
 * Where a recorder writes: `<name>.json` if it is absent or of this class, else `<name>.<class>.json`;
 * with `thisCpu`, `<name>.cpu-<cpuId>.json` (for a CPU model whose answers differ from its class's).
 */
export function oracleFileToWrite(dir, name, cls = simdClass(), thisCpu = false) {
  if (thisCpu) {
    const cpu = cpuId();
    if (cpu === undefined) throw new Error("this CPU's model cannot be read (no /proc/cpuinfo): record without --this-cpu");
    return path.join(dir, `${name}.cpu-${cpu}.json`);
  }
  const main = path.join(dir, `${name}.json`);
  if (!fs.existsSync(main)) return main;
  return recordedClass(JSON.parse(fs.readFileSync(main, "utf8"))) === cls ? main : path.join(dir, `${name}.${cls}.json`);
}
