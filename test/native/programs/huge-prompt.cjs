// A 300 MB prompt, lone surrogates, NUL bytes, a 20 MB text to tokenize.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 256 });
  const huge = "word ".repeat(60e6); // 300 MB
  // refused from its byte length (only that check's message says "bytes, at least"), not tokenized
  try {
    await c.complete(huge, { maxTokens: 1 });
    out("no error");
  } catch (e) {
    out(e.name, /is 300000000 bytes, at least \d+ tokens/.test(e.message));
  }
  // lone UTF-16 surrogates become U+FFFD on the way to UTF-8; NUL bytes are ordinary text
  out(JSON.stringify(m.detokenize(m.tokenize("a\ud800b", { addSpecial: false }))));
  out(JSON.stringify(m.detokenize(m.tokenize("x\u0000y\u0000", { addSpecial: false }))));
  const r = await c.complete("nul\u0000 in a prompt \udfff", { temperature: 0, maxTokens: 3 });
  out(r.stopReason, r.tokens.length);
  // a 20 MB text tokenizes (the first buffer guess is bounded; the exact size is asked for after)
  out(m.tokenize("ab ".repeat(7e6), { addSpecial: false }).length > 1e6);
  out("alive");
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
