// The raw binding, below the TypeScript checks, refuses token ids outside the vocabulary with a
// RangeError (detokenize, tokenToPiece, generate) instead of letting llama.cpp abort.
const path = require("node:path");
const { dist, ln, binding, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const n = m.native;
  for (const bad of [[-1], [m.vocab.size], [2 ** 31], [1.5], [NaN], new Int32Array([-5])]) {
    try {
      n.detokenize(bad, false, false);
      out("no error", bad);
    } catch (e) {
      out(e.constructor.name);
    }
  }
  try {
    n.tokenToPiece(-1, true);
  } catch (e) {
    out(e.constructor.name);
  }
  const { parseContextOptions, toNativeContextParams } = require(path.join(path.dirname(dist), "context-options.js"));
  const raw = await binding().Context.create(n, toNativeContextParams(parseContextOptions({ contextSize: 64 }), 2048));
  const flag = new (binding().AbortFlag)();
  for (const bad of [new Int32Array([m.vocab.size]), [-1]]) {
    try {
      await raw.generate(bad, {}, flag, () => {});
      out("no error");
    } catch (e) {
      out(e.constructor.name);
    }
  }
  raw.dispose();
  await m.dispose();
  out("alive");
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
