// Two worker_threads generate at once, each with its own model and context; both must give the
// tokens this thread gets alone.
const path = require("node:path");
const { Worker } = require("node:worker_threads");
const { dist, ln, out } = require("./prelude.cjs");

const run = () =>
  new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, "complete.worker.cjs"), { workerData: { dist, model: process.env.LN_MODEL } });
    w.once("message", resolve);
    w.once("error", reject);
  });
(async () => {
  const [a, b] = await Promise.all([run(), run()]);
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 128, threads: 1 });
  const mine = Array.from((await c.complete("Once upon a time", { temperature: 0, maxTokens: 32 })).tokens).join(",");
  out(a === b && a === mine ? "same" : "different", a.split(",").length);
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
