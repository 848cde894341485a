// process.exit(0) while 6 more requests run or wait on a context of 4 sequences.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const c = await (await ln.loadModel(process.env.LN_MODEL)).createContext({ contextSize: 512, sequences: 4 });
  for (let i = 0; i < 6; i++) c.complete("Once " + i, { maxTokens: 1e6 }).catch(() => {});
  let n = 0;
  for await (const _ of c.generate("Once", { maxTokens: 1e6 }))
    if (++n === 5) {
      out("exiting");
      process.exit(0);
    }
})();
