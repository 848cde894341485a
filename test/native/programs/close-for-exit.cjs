// binding().closeForExit() (what the addon runs at exit) while two generations run and a third
// waits: it aborts them and waits for them; later work is refused without reaching llama.cpp.
const { ln, binding, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 512, sequences: 2 });
  const e = await m.createContext({ contextSize: 256, embeddings: true });
  const seen = [0, 0];
  const drain = async (prompt, i) => {
    const g = c.generate(prompt, { maxTokens: 1e6 });
    for (;;) {
      const r = await g.next();
      if (r.done) return { ...r.value, tokens: { length: seen[i] } };
      seen[i] += r.value.tokens.length;
    }
  };
  const running = [drain("Once", 0), drain("Hello", 1), c.complete("Waiting", { maxTokens: 1e6 })];
  while (seen[0] === 0 || seen[1] === 0) await new Promise((res) => setTimeout(res, 5));
  out("left in llama.cpp", binding().closeForExit(5000));
  for (const p of running) {
    const r = await p;
    out(r.stopReason, r.tokens.length > 0 ? "generated" : "none", r.sequence >= 0 ? "ran" : "waited");
  }
  const later = await c.complete("Once", { maxTokens: 8 });
  out("later", later.stopReason, later.tokens.length);
  for (const f of [() => ln.loadModel(process.env.LN_MODEL), () => m.createContext({ contextSize: 64 }), () => e.embed("Once")]) {
    try {
      await f();
      out("no error");
    } catch (err) {
      out(err.name, err.message);
    }
  }
  out("exiting");
})().catch((err) => {
  console.error(err);
  process.exit(3);
});
