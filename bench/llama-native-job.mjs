// One measurement with llama-native, run in a child process by bench/run.mjs (so that each sample
// starts cold and its peak RSS is its own). Prints one JSON line.
//   node bench/llama-native-job.mjs '{"mode":"tg","model":"...","threads":2,"prompt":512,"gen":128,...}'
import { loadModel } from "../dist/index.mjs";
import { readFileSync } from "node:fs";

const job = JSON.parse(process.argv[2]);
const t0 = performance.now();
const model = await loadModel(job.model);
// the same token ids node-llama-cpp's job uses: a fixed walk through the vocabulary
const promptTokens = (n, salt = 0) => Int32Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + salt * 104729) % (job.vocabSize - 3)));
const ban = Object.fromEntries((job.eog ?? []).map((t) => [t, -Infinity]));
const out = { system: "llama-native" };

// job.n generations at once, generation i on contextOf(i): wall time and tokens streamed, together.
async function streamAll(contextOf) {
  const t = performance.now();
  const counts = await Promise.all(
    Array.from({ length: job.n }, async (_, i) => {
      let n = 0;
      for await (const chunk of contextOf(i).generate(promptTokens(job.prompt, i + 1), {
        temperature: 0,
        maxTokens: job.gen,
        logitBias: ban,
      }))
        n += chunk.tokens.length;
      return n;
    }),
  );
  out.ms = performance.now() - t;
  out.tokens = counts.reduce((a, b) => a + b, 0);
}
// threads and threadPoll absent: llama-native's defaults
const ctxOptions = { contextSize: job.ctx, batchSize: job.batch ?? 512, threads: job.threads, threadPoll: job.poll };

if (job.mode === "tg" || job.mode === "pp") {
  const ctx = await model.createContext(ctxOptions);
  const prompt = promptTokens(job.prompt);
  if (job.mode === "pp") {
    // the prompt's decode (logits for its last token), timed natively; a warm-up decode first, as
    // llama-bench does
    await ctx.complete(prompt, { temperature: 0, maxTokens: 0 });
    await ctx.clearCache();
    const r = await ctx.complete(prompt, { temperature: 0, maxTokens: 0 });
    out.ms = r.timings.promptMs;
    out.tokens = r.timings.evaluatedPromptTokens;
  } else {
    // generation from a one-token prompt, like llama-bench tg, streamed through ctx.generate();
    // timed from the first chunk to the last: job.gen - 1 decodes. A short warm-up generation
    // first, as llama-bench does.
    const tw = performance.now();
    if (job.mode === "tg" && !job.cold) {
      await ctx.complete(prompt.subarray(0, 1), { temperature: 0, maxTokens: 2, logitBias: ban });
      await ctx.clearCache();
    }
    const warmMs = performance.now() - tw;
    let n = 0;
    let tFirst = 0;
    const t = performance.now();
    const it = ctx.generate(prompt.subarray(0, 1), { temperature: 0, maxTokens: job.gen, logitBias: ban });
    for (;;) {
      const r = await it.next();
      if (r.done) {
        out.nativeGenerateMs = r.value.timings.generateMs; // first sample to last, measured natively
        break;
      }
      if (n === 0) tFirst = performance.now();
      n += r.value.tokens.length;
    }
    out.ms = performance.now() - tFirst;
    out.tokens = n - 1;
    out.firstTokenMs = tFirst - t;
    out.loadToFirstTokenMs = tFirst - t0 - warmMs;
  }
} else if (job.mode === "parallel") {
  const ctx = await model.createContext({ ...ctxOptions, sequences: job.n });
  await streamAll(() => ctx);
} else if (job.mode === "contexts") {
  // job.n contexts of one model, each generating one stream, all at once (they share the cores)
  const ctxs = [];
  for (let i = 0; i < job.n; i++) ctxs.push(await model.createContext(ctxOptions));
  await streamAll((i) => ctxs[i]);
} else if (job.mode === "embed") {
  const ctx = await model.createContext({ ...ctxOptions, embeddings: true, pooling: "mean", batchSize: job.ctx });
  // job.warmup untimed passes over the texts first (the first touches the compute buffers), then
  // job.passes timed ones; out.ms is the time of one pass
  for (let i = 0; i < (job.warmup ?? 0); i++) await ctx.embed(job.texts);
  const passes = job.passes ?? 1;
  const t = performance.now();
  for (let i = 0; i < passes; i++) await ctx.embed(job.texts);
  out.ms = (performance.now() - t) / passes;
  out.items = job.texts.length;
}
out.totalMs = performance.now() - t0;
out.maxRssMb = peakRssMb();
console.log(JSON.stringify(out));
await model.dispose();

// VmHWM: this process's own peak RSS since exec. resourceUsage().maxRSS also counts the parent's
// RSS that fork() copied before the exec, so a job spawned by a bench process that had quantized a
// model in itself reported the bench's 744 MB as its own (2026-12-04).
function peakRssMb() {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
  } catch {
    return process.resourceUsage().maxRSS / 1024;
  }
}
