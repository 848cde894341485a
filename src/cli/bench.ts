// llama-native bench -m MODEL: a quick tokens/s of this machine (prompt processing and generation).
import { type Command, intFlag, parse } from "./args";
import { contextFromFlags, loadFromFlags, MODEL_FLAGS, MODEL_USAGE } from "./model-flags";

export const bench: Command = {
  name: "bench",
  summary: "a quick tokens/s of this machine on a model (prompt and generation)",
  usage: `llama-native bench -m MODEL [--prompt N] [--gen N] [--json]
    Decodes an N-token prompt, then generates N tokens greedily, and prints tokens/s of each (the
    medians of 3 rounds after a warm-up). For comparisons with llama.cpp and node-llama-cpp, see
    npm run bench in a checkout.
${MODEL_USAGE}
    --prompt N            prompt tokens (default 512)
    --gen N               generated tokens (default 128)
    --json                one JSON object instead of text`,
  async run(argv) {
    const { values } = parse(argv, { ...MODEL_FLAGS, prompt: { type: "string" }, gen: { type: "string" }, json: { type: "boolean" } });
    const promptN = intFlag(values, "prompt", 512, 1, 1 << 20)!;
    const genN = intFlag(values, "gen", 128, 1, 1 << 20)!;
    const model = await loadFromFlags(values);
    try {
      const ctx = await contextFromFlags(model, values, { contextSize: promptN + genN + 8 });
      const vocab = model.vocab.size;
      // a fixed walk through the vocabulary, as the project's bench does; end-of-generation banned
      const prompt = Int32Array.from({ length: promptN }, (_, i) => 3 + ((i * 7919) % (vocab - 3)));
      const ban: Record<number, number> = {};
      for (const t of [model.vocab.eos, model.vocab.eot]) if (t >= 0) ban[t] = -Infinity;
      const pp: number[] = [];
      const tg: number[] = [];
      for (let round = 0; round < 4; round++) {
        await ctx.clearCache();
        const r = await ctx.complete(prompt, { temperature: 0, maxTokens: genN, logitBias: ban });
        if (round === 0) continue; // warm-up
        pp.push((r.timings.evaluatedPromptTokens / r.timings.promptMs) * 1000);
        tg.push((r.timings.generatedTokens / r.timings.generateMs) * 1000);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const out = {
        model: model.path,
        threads: ctx.info.threads,
        prompt: promptN,
        gen: genN,
        promptTokensPerSecond: median(pp),
        generateTokensPerSecond: median(tg),
      };
      process.stdout.write(
        values.json
          ? `${JSON.stringify(out)}\n`
          : `pp${promptN}: ${out.promptTokensPerSecond.toFixed(1)} tokens/s\ntg${genN}: ${out.generateTokensPerSecond.toFixed(1)} tokens/s\n(${out.threads} threads)\n`,
      );
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
