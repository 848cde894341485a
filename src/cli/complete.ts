// llama-native complete: streams a completion of a prompt (an argument, or stdin) to stdout.
import { type Command, parse, UsageError } from "./args";
import { contextFromFlags, loadFromFlags, MODEL_FLAGS, MODEL_USAGE, readStdin } from "./model-flags";
import { SAMPLING_FLAGS, SAMPLING_USAGE, samplingFromFlags } from "./sampling-flags";

const USAGE = `llama-native complete -m MODEL [PROMPT] [options]
    Streams a completion of PROMPT (or of stdin when PROMPT is absent) to stdout; a summary (tokens,
    tokens/s, why it stopped) goes to stderr, or with --json one JSON object to stdout instead.
${MODEL_USAGE}
${SAMPLING_USAGE}
    --json                print { text, stopReason, timings } as JSON instead of streaming`;

async function run(argv: string[], positionalModel: boolean): Promise<number> {
  const { values, positionals } = parse(argv, { ...MODEL_FLAGS, ...SAMPLING_FLAGS, json: { type: "boolean" } }, true);
  if (positionalModel) {
    // the older form: generate MODEL PROMPT
    if (positionals.length < 1) throw new UsageError("generate takes MODEL.gguf and PROMPT");
    values.model ??= positionals.shift();
  }
  if (positionals.length > 1) throw new UsageError("give the prompt as one argument (quote it), or on stdin");
  const options = samplingFromFlags(values);
  const prompt = positionals[0] ?? (await readStdin());
  if (prompt.length === 0) throw new UsageError("the prompt is empty");
  const model = await loadFromFlags(values);
  try {
    const ctx = await contextFromFlags(model, values);
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once("SIGINT", onSigint);
    try {
      if (values.json) {
        const r = await ctx.complete(prompt, { ...options, signal: ac.signal });
        process.stdout.write(`${JSON.stringify({ text: r.text, stopReason: r.stopReason, timings: r.timings })}\n`);
        return 0;
      }
      const it = ctx.generate(prompt, { ...options, signal: ac.signal });
      let r = await it.next();
      while (!r.done) {
        process.stdout.write(r.value.text);
        r = await it.next();
      }
      const t = r.value.timings;
      const rate = t.generateMs > 0 ? ((t.generatedTokens / t.generateMs) * 1000).toFixed(1) : "-";
      process.stderr.write(`\n[${t.generatedTokens} tokens, ${rate} tokens/s, stop: ${r.value.stopReason}]\n`);
      return 0;
    } finally {
      process.off("SIGINT", onSigint);
    }
  } finally {
    await model.dispose();
  }
}

export const complete: Command = {
  name: "complete",
  summary: "stream a completion of a prompt (argument or stdin) to stdout",
  usage: USAGE,
  run: (argv) => run(argv, false),
};

/** `generate MODEL PROMPT [options]`: the same, with the model as the first argument (kept from 0.1). */
export const generate: Command = {
  name: "generate",
  summary: "the same as complete, with MODEL.gguf as the first argument",
  usage: `llama-native generate MODEL.gguf PROMPT [options]   (the options of complete)`,
  run: (argv) => run(argv, true),
};
