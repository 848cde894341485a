// worker_thread: loads its own model and context, completes greedily and posts the token ids.
const { parentPort, workerData } = require("node:worker_threads");
const ln = require(workerData.dist);

(async () => {
  const m = await ln.loadModel(workerData.model);
  const c = await m.createContext({ contextSize: 128, threads: 1 });
  const r = await c.complete("Once upon a time", { temperature: 0, maxTokens: 32 });
  await m.dispose();
  parentPort.postMessage(Array.from(r.tokens).join(","));
})();
