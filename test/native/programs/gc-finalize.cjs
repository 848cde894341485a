// Models and contexts dropped without dispose(), collected in either order, 20 times.
const { ln, out } = require("./prelude.cjs");

if (!global.gc) {
  require("node:v8").setFlagsFromString("--expose-gc");
  global.gc = require("node:vm").runInNewContext("gc");
}

(async () => {
  for (let i = 0; i < 20; i++) {
    let m = await ln.loadModel(process.env.LN_MODEL);
    let c = await m.createContext({ contextSize: 64 });
    await c.complete("Hi", { maxTokens: 2 });
    if (i % 2) {
      m = null;
      global.gc();
      c = null;
    } else {
      c = null;
      global.gc();
      m = null;
    }
    global.gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  global.gc();
  out("alive");
})();
