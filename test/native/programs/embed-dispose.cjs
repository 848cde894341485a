// dispose() of an embedding context 5 ms into embedding 400 texts; then embed() on it again.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const e = await m.createContext({ embeddings: true, pooling: "mean", contextSize: 256, sequences: 4 });
  const texts = Array.from({ length: 400 }, (_, i) => "sentence number " + i + " about embeddings");
  const p = e.embed(texts).then(
    (v) => "finished " + v.length,
    (err) => err.name,
  );
  await new Promise((r) => setTimeout(r, 5));
  await e.dispose();
  out(await p);
  try {
    await e.embed("x");
  } catch (err) {
    out(err.name);
  }
  await m.dispose();
})();
