// An exception nobody catches, thrown from inside a generation's loop (node exits with code 1).
const { ln, out } = require("./prelude.cjs");

(async () => {
  const c = await (await ln.loadModel(process.env.LN_MODEL)).createContext({ contextSize: 256 });
  let n = 0;
  for await (const _ of c.generate("Once", { maxTokens: 1e6 }))
    if (++n === 5) {
      out("exiting");
      throw new Error("boom");
    }
})();
