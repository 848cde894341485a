// Bad media and bad projector files: each must be a typed error, never a crash. Each case runs in a
// child process (./child.ts), so an abort in llama.cpp's decoders (stb_image, miniaudio) or in the
// projector loader fails one test, not the run. The projector is the random `mlp` one of
// scripts/make-projector.mjs, for the 64-wide fixture model.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { root } from "../helpers";
import { child } from "./child";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-media-"));
const projector = path.join(tmp, "projector.gguf");
let images: Record<string, () => Uint8Array>;
let encodePng: (w: number, h: number, px: (x: number, y: number) => number[], o?: object) => Uint8Array;
let encodeWav: () => Uint8Array;

beforeAll(async () => {
  const mp = await import(path.join(root, "scripts", "make-projector.mjs"));
  await mp.makeProjector({ ...mp.TINY_PROJECTOR, out: projector });
  await mp.makeProjector({ ...mp.TINY_PROJECTOR, outEmbd: 48, out: path.join(tmp, "projector-48.gguf") });
  const ti = await import(path.join(root, "scripts", "test-images.mjs"));
  images = ti.TEST_IMAGES;
  encodePng = ti.encodePng;
  encodeWav = ti.encodeWav;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(which: string, file: string, proj = projector) {
  const r = child("bad-media.cjs", { args: [inject("tinyModel"), proj, which, file] });
  expect(r.status, r.summary).toBe(0);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as { ok?: boolean; name?: string; code?: string; message?: string; text?: string };
}

function write(name: string, bytes: Uint8Array): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, bytes);
  return f;
}

describe("bad media are typed errors", () => {
  it("a good picture works (the control of the cases below)", () => {
    const r = run("image", write("good.png", images.red!()));
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  const cases: [string, () => Uint8Array, RegExp][] = [
    ["zero bytes", () => new Uint8Array(0), /media\[0\] is empty/],
    ["a truncated PNG", () => images.gradient!().slice(0, 60), /not an image|could not be decoded/],
    [
      "a PNG with corrupt pixel data",
      () => {
        const b = images.checker!();
        for (let i = 45; i < b.length - 16; i += 3) b[i] ^= 0x5a;
        return b;
      },
      /could not be decoded|not an image/,
    ],
    [
      "a header that claims 100000 x 100000 pixels",
      () => encodePng(4, 4, () => [1, 2, 3], { claimWidth: 100000, claimHeight: 100000 }),
      /not an image llama.cpp can decode/,
    ],
    // under stb_image's own limit (2^30 bytes) but over the projector's maxPixels (64 Mi by default)
    [
      "a header that claims 10000 x 10000 pixels",
      () => encodePng(4, 4, () => [1, 2, 3], { claimWidth: 10000, claimHeight: 10000 }),
      /10000 x 10000 pixels; at most 67108864/,
    ],
    [
      "a header that claims 4000 x 4000 pixels over 16 pixels of data",
      () => encodePng(4, 4, () => [1, 2, 3], { claimWidth: 4000, claimHeight: 4000 }),
      /could not be decoded/,
    ],
    ["random bytes", () => new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 255)), /not an image/],
    ["WAV bytes given as an image", () => encodeWav(), /given as an image but its bytes are audio/],
  ];
  for (const [name, bytes, re] of cases) {
    it(name, () => {
      const r = run("image", write(`${name.replaceAll(" ", "-")}.bin`, bytes()));
      expect(r.name, JSON.stringify(r)).toBe("InvalidMediaError");
      expect(r.message).toMatch(re);
    });
  }

  it("audio to a vision-only projector", () => {
    const r = run("audio", write("tone.wav", encodeWav()));
    expect(r.name, JSON.stringify(r)).toBe("InvalidMediaError");
    expect(r.message).toMatch(/takes only images/);
  });
});

describe("bad projector files are typed errors", () => {
  it("a projector for another model (output width 48, the model's is 64)", () => {
    const r = run("load-projector", "", path.join(tmp, "projector-48.gguf"));
    expect(r.name, JSON.stringify(r)).toBe("ModelLoadError");
    expect(r.message).toMatch(/n_embd|mismatch/);
  });
  it("a truncated projector file", () => {
    const bytes = fs.readFileSync(projector);
    const r = run("load-projector", "", write("truncated.gguf", bytes.subarray(0, bytes.length >> 1)));
    expect(r.name, JSON.stringify(r)).toBe("InvalidModelFileError");
  });
  it("a language model given as a projector", () => {
    const r = run("load-projector", "", inject("tinyModel"));
    expect(r.name, JSON.stringify(r)).toBe("InvalidModelFileError");
    expect(r.message).toMatch(/not "clip"/);
  });
  it("random bytes as a projector", () => {
    const r = run(
      "load-projector",
      "",
      write(
        "random.gguf",
        new Uint8Array(4096).map((_, i) => (i * 7919) & 255),
      ),
    );
    expect(r.name, JSON.stringify(r)).toBe("InvalidModelFileError");
  });
});
