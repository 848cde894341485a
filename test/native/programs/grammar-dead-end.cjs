// Every token but end-of-sequence banned, while the grammar still needs "abc": the grammar rules
// out EOS, the biases everything else (llama.cpp throws from its grammar; it aborted in older
// code). Greedy and sampled; then a grammar that works, on the same context.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 128 });
  const ban = {};
  for (let t = 0; t < m.vocab.size; t++) if (t !== m.vocab.eos) ban[t] = -Infinity;
  for (const temperature of [0, 0.8]) {
    try {
      await c.complete("Hello", { grammar: 'root ::= "abc"', logitBias: ban, temperature, seed: 1 });
      out("no error");
    } catch (e) {
      out(e.name + ": " + e.message.split(" (")[0]);
    }
  }
  const ok = await c.complete("Hello", { grammar: 'root ::= "a"', temperature: 0, maxTokens: 5 });
  out(ok.stopReason, JSON.stringify(ok.text));
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
