// loadModel({ preflight: true }) on a good model, then generates; a bad preflight option.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL, { preflight: true });
  const c = await m.createContext({ contextSize: 64 });
  out((await c.complete("Hello", { temperature: 0, maxTokens: 3 })).tokens.length);
  await m.dispose();
  try {
    await ln.loadModel(process.env.LN_MODEL, { preflight: { timeoutMs: -1 } });
  } catch (e) {
    out(e.name);
  }
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
