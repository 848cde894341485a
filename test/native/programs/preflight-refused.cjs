// loadModel({ preflight: true }); prints "loaded" or the error as name|code|first line of message.
// The test runs it with preflight-crash-hook.cjs preloaded, which kills the trial child.
const { ln, out } = require("./prelude.cjs");

ln.loadModel(process.env.LN_MODEL, { preflight: true }).then(
  () => out("loaded"),
  (e) => out(e.name + "|" + e.code + "|" + e.message.split("\n")[0]),
);
