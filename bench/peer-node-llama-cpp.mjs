// One measurement with node-llama-cpp (the peer), run in a child process by bench/run.mjs from the
// scratch folder it was installed into. Prints one JSON line.
//   node peer-node-llama-cpp.mjs '{"mode":"tg","model":"...","threads":2,"prompt":512,"gen":128}'
// The peer is never a dependency of llama-native: bench/run.mjs installs it outside the project.
import { getLlama, LlamaLogLevel, TokenBias } from "node-llama-cpp";
import { readFileSync } from "node:fs";

const job = JSON.parse(process.argv[2]);
const t0 = performance.now();
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: job.threads });
const model = await llama.loadModel({ modelPath: job.model, gpuLayers: 0 });
// the same token ids llama-native and llama-bench use: a fixed walk through the vocabulary
const promptTokens = (n, salt = 0) => Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + salt * 104729) % (job.vocabSize - 3)));
const out = { system: "node-llama-cpp" };
// end-of-generation is banned on every side so that each run makes the same number of tokens
const banEog = () => {
  const bias = new TokenBias(model.tokenizer);
  for (const t of job.eog) bias.set(t, "never");
  return bias;
};

// one generation on each sequence at once: wall time and tokens streamed, together
async function streamAll(seqs) {
  const t = performance.now();
  const counts = await Promise.all(
    seqs.map(async (seq, i) => {
      let n = 0;
      for await (const _ of seq.evaluate(promptTokens(job.prompt, i + 1), { temperature: 0, tokenBias: banEog() }))
        if (++n >= job.gen) break;
      return n;
    }),
  );
  out.ms = performance.now() - t;
  out.tokens = counts.reduce((a, b) => a + b, 0);
}

if (job.mode === "tg" || job.mode === "pp") {
  const context = await model.createContext({ contextSize: job.ctx, batchSize: job.batch ?? 512, threads: job.threads, sequences: 1 });
  const seq = context.getSequence();
  const prompt = promptTokens(job.prompt);
  if (job.mode === "pp") {
    await seq.evaluateWithoutGeneratingNewTokens(prompt); // warm-up, as llama-bench does
    await seq.clearHistory();
    const t = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    out.ms = performance.now() - t;
    out.tokens = prompt.length;
  } else {
    // generation from a one-token prompt, like llama-bench tg: count streamed tokens
    const bias = banEog();
    // a short warm-up generation first, as llama-bench does (not for a cold load-to-first-token job)
    const tw = performance.now();
    if (!job.cold) {
      let w = 0;
      for await (const _ of seq.evaluate([prompt[0]], { temperature: 0, tokenBias: bias })) if (++w >= 2) break;
      await seq.clearHistory();
    }
    const warmMs = performance.now() - tw;
    let n = 0;
    let tFirst = 0;
    const t = performance.now();
    for await (const _ of seq.evaluate([prompt[0]], { temperature: 0, tokenBias: bias })) {
      if (n === 0) tFirst = performance.now();
      n++;
      if (n >= job.gen) break;
    }
    out.ms = performance.now() - tFirst;
    out.tokens = n - 1;
    out.firstTokenMs = tFirst - t;
    out.loadToFirstTokenMs = tFirst - t0 - warmMs; // from getLlama() (it loads the binary) to the first token
  }
} else if (job.mode === "parallel") {
  const context = await model.createContext({ contextSize: job.ctx, batchSize: job.batch ?? 512, threads: job.threads, sequences: job.n });
  await streamAll(Array.from({ length: job.n }, () => context.getSequence()));
} else if (job.mode === "contexts") {
  const contexts = [];
  for (let i = 0; i < job.n; i++)
    contexts.push(await model.createContext({ contextSize: job.ctx, batchSize: job.batch ?? 512, threads: job.threads, sequences: 1 }));
  await streamAll(contexts.map((c) => c.getSequence()));
} else if (job.mode === "embed") {
  const context = await model.createEmbeddingContext({ contextSize: job.ctx, threads: job.threads });
  // as llama-native's job: job.warmup untimed passes, then job.passes timed; out.ms is one pass
  for (let i = 0; i < (job.warmup ?? 0); i++) for (const text of job.texts) await context.getEmbeddingFor(text);
  const passes = job.passes ?? 1;
  const t = performance.now();
  for (let i = 0; i < passes; i++) for (const text of job.texts) await context.getEmbeddingFor(text);
  out.ms = (performance.now() - t) / passes;
  out.items = job.texts.length;
}
out.totalMs = performance.now() - t0;
out.maxRssMb = peakRssMb();
console.log(JSON.stringify(out));
await model.dispose();
await llama.dispose();

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
