// A vocab-only model: its info, and the error when asked for a context.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL, { vocabOnly: true });
  out(m.info.layers, m.info.heads, m.info.vocabSize);
  try {
    await m.createContext();
  } catch (e) {
    out(e.name);
  }
})();
