// The Q8_0 and Q4_0 fixtures decode a multi-token prompt (ggml's AMX kernel crashed here).
const { ln, out } = require("./prelude.cjs");

(async () => {
  for (const file of [process.env.LN_Q8, process.env.LN_Q4]) {
    const m = await ln.loadModel(file);
    const c = await m.createContext({ contextSize: 256, batchSize: 64 });
    const r = await c.complete("Once upon a time there was a little girl", { temperature: 0, maxTokens: 8 });
    out(m.info.description.split(" ").pop() === "Q4_0" || m.info.description.includes("Q"), r.tokens.length);
    await m.dispose();
  }
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
