#!/usr/bin/env node
// Writes the committed seed corpus in fuzz/corpus (small: libFuzzer mutates from these).
//   gguf/      tiny llama models (a 260-token vocabulary: <unk>, <s>, </s> and the 256 byte tokens,
//              one layer of 32) in f32, f16, q8_0 and q4_0, written by scripts/make-model.mjs
//   tokenize/  texts (first byte: vocabulary index and flags, see fuzz/tokenize_fuzzer.cpp)
//   grammar/   GBNF grammars
//   state/     sequence states of gguf/tiny-f32.gguf (64-cell context, one sequence), as ctx.getState()
//              returns them: empty, a few tokens, a full sequence, and one after a context shift
//   media/     the test pictures of scripts/test-images.mjs and a WAV (first byte: 0 picture, 1 audio)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GgufValueType as T, loadModel, writeGguf } from "../dist/index.mjs";
import { makeRandomLlama } from "../scripts/make-model.mjs";
import { TEST_IMAGES, encodeWav } from "../scripts/test-images.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.join(here, "corpus");

const tokens = [
  "<unk>",
  "<s>",
  "</s>",
  ...Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, "0")}>`),
  "▁the",
];
const vocab = path.join(os.tmpdir(), `llama-native-seed-vocab-${process.pid}.gguf`);
await writeGguf(vocab, {
  metadata: [
    { key: "general.architecture", type: T.STRING, value: "llama" },
    { key: "tokenizer.ggml.model", type: T.STRING, value: "llama" },
    { key: "tokenizer.ggml.tokens", type: T.ARRAY, arrayType: T.STRING, value: tokens },
    { key: "tokenizer.ggml.scores", type: T.ARRAY, arrayType: T.FLOAT32, value: tokens.map((_, i) => -i) },
    {
      key: "tokenizer.ggml.token_type",
      type: T.ARRAY,
      arrayType: T.INT32,
      value: tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)),
    },
    { key: "tokenizer.ggml.bos_token_id", type: T.UINT32, value: 1 },
    { key: "tokenizer.ggml.eos_token_id", type: T.UINT32, value: 2 },
    { key: "tokenizer.ggml.unknown_token_id", type: T.UINT32, value: 0 },
  ],
  tensors: [],
});
for (const type of ["f32", "f16", "q8_0", "q4_0"]) {
  await makeRandomLlama({
    out: path.join(corpus, "gguf", `tiny-${type}.gguf`),
    vocab,
    embd: 32,
    layers: 1,
    heads: 2,
    headsKv: 1,
    ff: 64,
    ctx: 64,
    type,
    seed: 3,
    outputSigma: 1,
  });
}
fs.rmSync(vocab);

const texts = [
  "Hello world",
  " leading space and  double  spaces",
  "Once upon a time, there was a little girl named Lily.",
  "<s>special</s><|im_start|>user\nhi<|im_end|>",
  "ünïcödé — 日本語 😀 \u0000 nul",
  "\ud83d",
  "a\tb\nc\r\n",
  "1234567890 3.14159",
];
for (const [i, t] of texts.entries()) {
  fs.writeFileSync(path.join(corpus, "tokenize", `text-${i}`), Buffer.concat([Buffer.from([i * 37]), Buffer.from(t, "utf8")]));
}

const grammars = [
  'root ::= "yes" | "no"',
  'root ::= [0-9]+ ("." [0-9]+)?',
  'root ::= "{" ws pair ("," ws pair)* ws "}"\npair ::= string ws ":" ws string\nstring ::= "\\"" [a-z]* "\\""\nws ::= [ \\t\\n]*',
  'root ::= (("a" | "b") "c"?){2,5} # comment',
  'root ::= x\nx ::= "(" x ")" | ""',
  'root ::= [^\\n]{1,10} "\\n"',
];
for (const [i, g] of grammars.entries()) fs.writeFileSync(path.join(corpus, "grammar", `gbnf-${i}`), g);
fs.mkdirSync(path.join(corpus, "state"), { recursive: true });
const stateModel = await loadModel(path.join(corpus, "gguf", "tiny-f32.gguf"));
const states = [];
for (const [name, options] of [
  ["plain", {}],
  ["shifted", { contextShift: { keep: 2 } }],
]) {
  const ctx = await stateModel.createContext({ contextSize: 64, threads: 1, ...options });
  states.push([`${name}-empty`, await ctx.getState()]);
  for (const n of [3, 40, 90]) {
    await ctx.clearCache();
    await ctx.complete([1, 100, 101], { temperature: 0, maxTokens: n, logitBias: { 2: -Infinity } });
    states.push([`${name}-${n}`, await ctx.getState()]);
  }
  await ctx.dispose();
}
await stateModel.dispose();
for (const [name, bytes] of states) fs.writeFileSync(path.join(corpus, "state", name), bytes);
fs.mkdirSync(path.join(corpus, "media"), { recursive: true });
const media = Object.entries(TEST_IMAGES).map(([name, make]) => [`${name}.png`, 0, make()]);
media.push(["tone.wav", 1, encodeWav(0.05)]);
for (const [name, kind, bytes] of media) fs.writeFileSync(path.join(corpus, "media", name), Buffer.concat([Buffer.from([kind]), bytes]));
console.error(
  `wrote ${fs.readdirSync(path.join(corpus, "gguf")).length + texts.length + grammars.length + states.length + media.length} seeds in ${path.relative(process.cwd(), corpus)}`,
);
