// scripts/simd-class.mjs: which recording an oracle test reads on this CPU.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const simd = await import(path.join(root, "scripts", "simd-class.mjs"));

describe("oracle files per SIMD class and per CPU model", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-simd-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const touch = (name: string, body: object = {}) => fs.writeFileSync(path.join(dir, name), JSON.stringify(body));

  it("reads this CPU model from /proc/cpuinfo on Linux", () => {
    const id: string | undefined = simd.cpuId();
    if (process.platform !== "linux") return;
    expect(id).toMatch(/^[A-Za-z0-9_-]+-f[A-Za-z0-9_]+m[A-Za-z0-9_]+$/);
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    if (os.arch() === "x64") {
      const vendor = /^vendor_id\s*:\s*(.*)$/m.exec(info)![1]!.trim();
      const family = /^cpu family\s*:\s*(.*)$/m.exec(info)![1]!.trim();
      const model = /^model\s*:\s*(.*)$/m.exec(info)![1]!.trim();
      expect(id).toBe(`${vendor}-f${family}m${model}`);
    }
  });

  it("prefers this CPU model's recording, then this class's, then the main file", () => {
    touch("x.json", { simd: "avx512" });
    expect(simd.oracleFileFor(dir, "x", "avx2", "V-f1m2")).toBe(path.join(dir, "x.json"));
    touch("x.avx2.json", { simd: "avx2" });
    expect(simd.oracleFileFor(dir, "x", "avx2", "V-f1m2")).toBe(path.join(dir, "x.avx2.json"));
    touch("x.cpu-V-f1m2.json", { simd: "avx2" });
    expect(simd.oracleFileFor(dir, "x", "avx2", "V-f1m2")).toBe(path.join(dir, "x.cpu-V-f1m2.json"));
    // another model of the class, or an unknown one, does not read it
    expect(simd.oracleFileFor(dir, "x", "avx2", "V-f1m3")).toBe(path.join(dir, "x.avx2.json"));
    expect(simd.oracleFileFor(dir, "x", "avx512", undefined)).toBe(path.join(dir, "x.json"));
  });

  it("writes the main file for its own class, a class file for another, a model file when asked", () => {
    touch("y.json", { simd: "avx512" });
    expect(simd.oracleFileToWrite(dir, "y", "avx512")).toBe(path.join(dir, "y.json"));
    expect(simd.oracleFileToWrite(dir, "y", "avx2")).toBe(path.join(dir, "y.avx2.json"));
    if (simd.cpuId() !== undefined)
      expect(simd.oracleFileToWrite(dir, "y", "avx512", true)).toBe(path.join(dir, `y.cpu-${simd.cpuId()}.json`));
  });
});
