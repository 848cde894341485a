// More sequences than a batch has output slots: shrunk when not asked for, refused when asked for.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const e = await m.createContext({ embeddings: true, pooling: "mean", contextSize: 256, batchSize: 8 });
  out(e.info.sequences, (await e.embed(["a", "b"])).length);
  for (const opts of [
    { embeddings: true, batchSize: 8, sequences: 16 },
    { batchSize: 4, sequences: 8 },
  ]) {
    try {
      await m.createContext(opts);
      out("created");
    } catch (err) {
      out(err.name + ": " + err.message);
    }
  }
})();
