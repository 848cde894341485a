// A worker_thread terminated in the middle of a generation; then this thread loads and generates.
const path = require("node:path");
const { Worker } = require("node:worker_threads");
const { dist, ln, out } = require("./prelude.cjs");

const w = new Worker(path.join(__dirname, "generate-forever.worker.cjs"), { workerData: { dist, model: process.env.LN_MODEL } });
w.once("message", async () => {
  await w.terminate();
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 64 });
  const r = await c.complete("Hi", { maxTokens: 3 });
  out("alive", r.tokens.length);
});
