// The HTTP fuzzer (fuzz/http_fuzz.mjs, `npm run fuzz -- --only http`) for a few seconds: proves in CI
// that it runs, reaches every endpoint and finds nothing. The long runs are `npm run fuzz`'s.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { realModelPath, requireRealModel, root, timeScale } from "../helpers";

const modelPath = realModelPath();

describe.runIf(modelPath || requireRealModel)("the HTTP fuzzer", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-http-fuzz-"));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it("sends every kind of request for 8 s; the server stays correct, nothing is found", { timeout: 180_000 * timeScale }, async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, "fuzz", "http_fuzz.mjs"),
        "--seconds",
        "8",
        "--seed",
        "1",
        "--json",
        "--model",
        modelPath!,
        "--work",
        work,
        "--deadline-ms",
        String(30_000 * timeScale),
        // AddressSanitizer's quarantine holds freed memory back (256 MB by default): under the
        // sanitizer RSS growth says nothing about leaks
        ...(timeScale > 1 ? ["--rss-growth-mb", "1024"] : []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) console.error(err.slice(-4000));
    const summary = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(summary.findings).toBe(0);
    expect(code).toBe(0);
    expect(summary.requests).toBeGreaterThan(50);
    // every endpoint reached, answers both good and bad
    expect(Object.keys(summary.endpoint).sort()).toEqual(
      [
        "apply_template",
        "chat",
        "chat_stream",
        "completions",
        "completions_stream",
        "detokenize",
        "embeddings",
        "health",
        "models",
        "tokenize",
      ].sort(),
    );
    expect(summary.status["200"]).toBeGreaterThan(0);
    expect(summary.status["400"]).toBeGreaterThan(0);
    expect(summary.bursts).toBeGreaterThan(1);
    expect(fs.readdirSync(work).filter((f) => f.endsWith(".json") && f !== "summary.json")).toEqual([]);
  });
});
