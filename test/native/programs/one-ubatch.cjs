// Four streams generating at once on a context with a cache per sequence (the default), after an
// earlier generation left sequence 0 the most recently used, so that the streams get sequences
// 1, 2, 3 and 0. llama.cpp's own batch log (LLAMA_BATCH_DEBUG, read when a context is created)
// prints every micro-batch a decode was split into; one line per micro-batch goes to stdout:
// "<tokens> <sequences>".
process.env.LLAMA_BATCH_DEBUG = "1";
const { ln, out } = require("./prelude.cjs");

(async () => {
  let log = "";
  ln.setLogLevel("debug");
  ln.setLogger((_level, text) => {
    log += text;
  });
  const m = await ln.loadModel(process.env.LN_MODEL);
  const ban = {};
  for (const t of [m.vocab.eos, m.vocab.eot]) if (t >= 0) ban[t] = -Infinity;
  const ctx = await m.createContext({ contextSize: 512, sequences: 4 });
  // no prompt shares a first token with this one: the streams then take the least recently used
  // sequences (1, 2, 3), and sequence 0 last
  await ctx.complete([5, 50, 60], { temperature: 0, maxTokens: 4, logitBias: ban });
  log = "";
  await Promise.all([0, 1, 2, 3].map((i) => ctx.complete([7, 70 + i, 80 + i], { temperature: 0, maxTokens: 16, logitBias: ban })));
  ln.setLogger(null);
  ln.setLogLevel("error");
  for (const part of log.split("added ubatch to split:").slice(1)) {
    out(/n_tokens\s*=\s*(\d+)/.exec(part)[1], /n_seqs\s*=\s*(\d+)/.exec(part)[1]);
  }
  await m.dispose();
})();
