// Comments ended by a carriage return, followed by deep nesting or an inverted repetition.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 64 });
  for (const g of ["root ::= x # note\r" + "(".repeat(60000) + "x" + ")".repeat(60000), 'root ::= "a" # note\r "b"{6,5}']) {
    try {
      await c.complete("x", { grammar: g, maxTokens: 2 });
      out("no error");
    } catch (e) {
      out(e.name + ": " + e.message.split(";")[0].slice(0, 90));
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
