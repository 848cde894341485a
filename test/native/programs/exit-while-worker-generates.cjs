// process.exit(0) on the main thread while a worker_thread generates.
const path = require("node:path");
const { Worker } = require("node:worker_threads");
const { dist, out } = require("./prelude.cjs");

const w = new Worker(path.join(__dirname, "generate-two.worker.cjs"), { workerData: { dist, model: process.env.LN_MODEL } });
w.once("message", () => {
  out("exiting");
  process.exit(0);
});
