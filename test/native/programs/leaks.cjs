// argv[2]: model load/dispose cycles; argv[3]: context create/dispose cycles. Run with --expose-gc.
// Prints, as JSON, RSS and the live C heap bytes (after a GC and its finalizers) half-way through
// and at the end of each: { loads: [[rss, heap], [rss, heap]], contexts: [...] }.
const { ln, binding, out } = require("./prelude.cjs");

const loads = Number(process.argv[2]);
const contexts = Number(process.argv[3]);
(async () => {
  const rss = async () => {
    global.gc();
    await new Promise((r) => setTimeout(r, 50));
    global.gc();
    return [process.memoryUsage.rss(), binding().nativeHeapBytes()];
  };
  const report = {};
  let warm = 0;
  for (let i = 0; i < loads; i++) {
    const m = await ln.loadModel(process.env.LN_MODEL);
    await m.dispose();
    if (i === loads / 2 - 1) warm = await rss();
  }
  report.loads = [warm, await rss()];
  const m = await ln.loadModel(process.env.LN_MODEL);
  for (let i = 0; i < contexts; i++) {
    const c = await m.createContext({ contextSize: 64, batchSize: 8, threads: 1 });
    if (i % 100 === 0) await c.complete([1, 2, 3], { temperature: 0, maxTokens: 2 });
    await c.dispose();
    if (i === contexts / 2 - 1) warm = await rss();
  }
  report.contexts = [warm, await rss()];
  await m.dispose();
  out(JSON.stringify(report));
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
