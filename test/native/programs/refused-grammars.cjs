// argv[2]: a JSON array of grammars that must each be refused ("refused" when the message says why:
// a repetition's bounds, or too complex); then a grammar that works, on the same context.
const { ln, out } = require("./prelude.cjs");

const grammars = JSON.parse(process.argv[2]);
(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 64 });
  for (const g of grammars) {
    try {
      await c.complete("x", { grammar: g, maxTokens: 2 });
      out("no error");
    } catch (e) {
      out(e.name + ": " + (/upper bound below its lower bound|grammar too complex/.test(e.message) ? "refused" : e.message.slice(0, 80)));
    }
  }
  const ok = await c.complete("x", { grammar: 'root ::= "a"{2,3}', temperature: 0, maxTokens: 5 });
  out(JSON.stringify(ok.text));
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
