// Oracle: llama.cpp's own tokenizer test vectors (tests/test-tokenizer-0 reads the same files):
// for every models/ggml-vocab-*.gguf with .inp/.out, tokenize(text, no special tokens added) must
// produce exactly the upstream ids.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, type Model } from "../../dist/index.mjs";
import { vocabDir } from "../helpers";

const SEP = "\n__ggml_vocab_test__\n";

function readVectors(vocab: string): { text: string; ids: number[] }[] {
  const raw = fs.readFileSync(`${vocab}.inp`, "utf8");
  const inputs: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(SEP, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + SEP.length;
  }
  const outputs = fs.readFileSync(`${vocab}.out`, "utf8").split("\n");
  if (outputs.at(-1) === "") outputs.pop();
  expect(outputs.length).toBe(inputs.length);
  return inputs.map((text, i) => ({
    text,
    ids: outputs[i]!.trim() === "" ? [] : outputs[i]!.trim().split(" ").map(Number),
  }));
}

const vocabs = fs
  .readdirSync(vocabDir)
  .filter((f) => f.startsWith("ggml-vocab-") && f.endsWith(".gguf") && fs.existsSync(path.join(vocabDir, `${f}.inp`)))
  .sort();

describe("upstream tokenizer vectors", () => {
  it("finds the vocabularies with test vectors", () => {
    expect(vocabs.length).toBeGreaterThanOrEqual(15);
  });

  for (const file of vocabs) {
    describe(file, () => {
      let model: Model;
      const vectors = readVectors(path.join(vocabDir, file));
      beforeAll(async () => {
        model = await loadModel(path.join(vocabDir, file), { vocabOnly: true });
      });
      afterAll(() => model?.dispose());

      it(`tokenizes all ${vectors.length} cases as llama.cpp expects`, () => {
        const failures: string[] = [];
        for (const { text, ids } of vectors) {
          const got = Array.from(model.tokenize(text, { addSpecial: false, parseSpecial: false }));
          if (JSON.stringify(got) !== JSON.stringify(ids)) failures.push(`${JSON.stringify(text)}: got [${got}] expected [${ids}]`);
        }
        expect(failures).toEqual([]);
      });

      it("detokenize(tokenize(text)) equals detokenizing the upstream ids", () => {
        for (const { text, ids } of vectors) {
          const mine = model.detokenize(model.tokenize(text, { addSpecial: false }));
          expect(mine).toBe(model.detokenize(ids));
        }
      });
    });
  }
});
