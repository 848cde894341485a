#!/usr/bin/env node
// Records what llama.cpp's own llama-quantize makes of the test fixture, so the test suite can
// check that writeGguf's Q8_0/Q4_0 are byte-identical to ggml's reference quantization.
//   node scripts/record-quant-oracle.mjs    -> test/fixtures/oracles/quantize.json
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildTools } from "./native-tools.mjs";
import { makeRandomLlama, TINY_FIXTURE } from "./make-model.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { readGgufInfo } = createRequire(import.meta.url)(path.join(root, "dist", "index.js"));
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const bin = buildTools(["llama-quantize"]);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-quant-"));
const src = await makeRandomLlama({ ...TINY_FIXTURE, out: path.join(tmp, "tiny-f32.gguf"), type: "f32" });
const out = {
  about:
    "sha256 of each tensor's bytes after llama.cpp's llama-quantize --pure, run on the f32 test fixture (scripts/make-model.mjs TINY_FIXTURE); recorded by scripts/record-quant-oracle.mjs",
  llamaCppCommit: pin.commit,
  fixture: TINY_FIXTURE,
  types: {},
};
for (const type of ["Q8_0", "Q4_0"]) {
  const dst = path.join(tmp, `tiny-${type}.gguf`);
  const args = ["--pure", src, dst, type];
  const r = spawnSync(path.join(bin, "llama-quantize"), args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  const info = await readGgufInfo(dst);
  const bytes = fs.readFileSync(dst);
  out.types[type.toLowerCase()] = {
    command: ["vendor/tools/build/bin/llama-quantize", "--pure", "tiny-f32.gguf", `tiny-${type}.gguf`, type],
    tensors: Object.fromEntries(
      info.tensors.map((t) => [
        t.name,
        {
          type: t.typeName,
          sha256: createHash("sha256")
            .update(bytes.subarray(info.dataOffset + t.offset, info.dataOffset + t.offset + t.sizeBytes))
            .digest("hex"),
        },
      ]),
    ),
  };
}
fs.rmSync(tmp, { recursive: true, force: true });
const dest = path.join(root, "test", "fixtures", "oracles", "quantize.json");
fs.writeFileSync(dest, JSON.stringify(out, null, 1) + "\n");
console.error(`wrote ${path.relative(root, dest)}`);
