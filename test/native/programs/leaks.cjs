// argv[2]: model load/dispose cycles; argv[3]: context create/dispose cycles. Run with --expose-gc.
// Prints, as JSON, RSS and the live C heap bytes (after a GC and its finalizers) half-way through
// and at the end of each: { loads: [[rss, heap], [rss, heap]], contexts: [...] }. The RSS figures
// are the lowest of three readings (at 30, 40 and 50 % of the cycles, and at 80, 90 and 100 %): V8's
// heap alone moves RSS by 4 MB between two readings of the same run (5.7 to 12.7 MB committed over
// 2,000 loads whose RSS stayed within 55.9-60.3 MB and live C heap within 3.22-3.32 MB), and one
// reading each way failed the 5 % bound on a reading that caught V8 small half-way. Growth lifts the
// lowest reading too.
const { ln, binding, out } = require("./prelude.cjs");

const loads = Number(process.argv[2]);
const contexts = Number(process.argv[3]);
(async () => {
  const rss = async () => {
    global.gc();
    await new Promise((r) => setTimeout(r, 50));
    global.gc();
    return process.memoryUsage.rss();
  };
  // [[lowest RSS at 30-50 %, live heap at 50 %], [lowest RSS at 80-100 %, live heap at 100 %]]
  const cycle = async (n, body) => {
    const at = new Map([3, 4, 5, 8, 9, 10].map((k) => [Math.round((n * k) / 10) - 1, k]));
    const warm = [];
    const end = [];
    let heapWarm = 0;
    for (let i = 0; i < n; i++) {
      await body(i);
      const k = at.get(i);
      if (k === undefined) continue;
      (k <= 5 ? warm : end).push(await rss());
      if (k === 5) heapWarm = binding().nativeHeapBytes();
    }
    return [
      [Math.min(...warm), heapWarm],
      [Math.min(...end), binding().nativeHeapBytes()],
    ];
  };
  const report = {};
  report.loads = await cycle(loads, async () => {
    const m = await ln.loadModel(process.env.LN_MODEL);
    await m.dispose();
  });
  const m = await ln.loadModel(process.env.LN_MODEL);
  report.contexts = await cycle(contexts, async (i) => {
    const c = await m.createContext({ contextSize: 64, batchSize: 8, threads: 1 });
    if (i % 100 === 0) await c.complete([1, 2, 3], { temperature: 0, maxTokens: 2 });
    await c.dispose();
  });
  await m.dispose();
  out(JSON.stringify(report));
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
