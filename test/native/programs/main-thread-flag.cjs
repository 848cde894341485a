// The addon's mainThread flag (libuv's default loop) against node:worker_threads' isMainThread, on
// the main thread and in a worker_thread: binding.ts guards process exit on the main thread only.
const { Worker, isMainThread } = require("node:worker_threads");
const { binding, out } = require("./prelude.cjs");

out("main", binding().mainThread, isMainThread);
const w = new Worker(
  `const { isMainThread, parentPort, workerData } = require("node:worker_threads");
   const { binding } = require(workerData);
   parentPort.postMessage([binding().mainThread, isMainThread]);`,
  { eval: true, workerData: require("node:path").join(__dirname, "..", "..", "..", "dist", "binding.js") },
);
w.once("message", ([flag, truth]) => out("worker", flag, truth));
w.once("error", (e) => {
  console.error(e);
  process.exit(3);
});
