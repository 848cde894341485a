// What loading the package, a model and a context and generating costs in Node's own modules: none
// of these is needed on that path, and each cost about a megabyte of peak RSS, the report 2.3 MB and
// 7.6 ms (measured 2026-12-04). Prints the ones that were loaded anyway, or "none".
const { ln, out } = require("./prelude.cjs");

const heavy = ["NativeModule child_process", "NativeModule worker_threads", "NativeModule fs/promises", "Internal Binding report"];
(async () => {
  const m = await ln.loadModel(process.env.LN_MODEL);
  const c = await m.createContext({ contextSize: 64, threads: 1 });
  await c.complete("Once", { temperature: 0, maxTokens: 4 });
  const loaded = heavy.filter((x) => process.moduleLoadList.includes(x));
  out(loaded.length ? loaded.join(", ") : "none");
  await m.dispose();
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
