// 60,000 nested parentheses, a 5,000-rule chain, left recursion, malformed GBNF; then a plain
// completion on the same context.
const { ln, out } = require("./prelude.cjs");

(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 128 });
  const grammars = [
    "root ::= " + "(".repeat(60000) + '"a"' + ")".repeat(60000),
    Array.from({ length: 5000 }, (_, i) => "r" + i + " ::= r" + (i + 1))
      .join("\n")
      .replace("r0 ::=", "root ::=") + '\nr5000 ::= "a"',
    'root ::= root "a" | "a"',
    "root ::= (",
  ];
  for (const grammar of grammars) {
    try {
      const r = await c.complete("Hi", { grammar, maxTokens: 3, temperature: 0 });
      out("ok " + JSON.stringify(r.text));
    } catch (e) {
      out(e.name + ": " + e.message.split("\n")[0].slice(0, 80));
    }
  }
  out((await c.complete("Hi", { maxTokens: 2 })).tokens.length);
})();
