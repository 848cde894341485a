// worker_thread: two generations without end on one context of 2 sequences; posts "running" after
// 5 pieces of one of them.
const { parentPort, workerData } = require("node:worker_threads");
const ln = require(workerData.dist);

(async () => {
  const c = await (await ln.loadModel(workerData.model)).createContext({ contextSize: 256, sequences: 2 });
  c.complete("Hello", { maxTokens: 1e6 });
  let n = 0;
  for await (const _ of c.generate("Once", { maxTokens: 1e6 })) if (++n === 5) parentPort.postMessage("running");
})();
