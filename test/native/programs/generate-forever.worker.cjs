// worker_thread: generates without end on its own model and context; posts "running" after 5 pieces.
const { parentPort, workerData } = require("node:worker_threads");
const ln = require(workerData.dist);

(async () => {
  const m = await ln.loadModel(workerData.model);
  const c = await m.createContext({ contextSize: 256 });
  let n = 0;
  for await (const _ of c.generate("Once", { maxTokens: 1e6 })) if (++n === 5) parentPort.postMessage("running");
})();
