// process.exit(0) from inside a generation's loop.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 256 });
  let n = 0;
  for await (const _ of c.generate("Once", { maxTokens: 1e6 }))
    if (++n === 5) {
      out("exiting");
      process.exit(0);
    }
})();
