// argv[2]: the real model. Prints its greedy continuation of "Once upon a time".
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.argv[2]);
  const c = await m.createContext();
  out((await c.complete("Once upon a time", { temperature: 0, maxTokens: 8 })).text);
})();
