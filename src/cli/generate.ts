// llama-native generate MODEL.gguf PROMPT: streams a completion to stdout.
import { loadModel } from "../model";
import { type Command, UsageError, intFlag, numberFlag, parse } from "./args";

export const generate: Command = {
  name: "generate",
  summary: "stream a completion of PROMPT to stdout",
  usage: `llama-native generate MODEL.gguf PROMPT [--max-tokens N] [--temperature T] [--threads N]
    Streams a completion to stdout; a summary (tokens, tokens/s, stop reason) goes to stderr.
    --max-tokens N     tokens to generate (default 128)
    --temperature T    0 = greedy (default 0.8)
    --threads N        generation threads (default: every core)`,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { "max-tokens": { type: "string" }, temperature: { type: "string" }, threads: { type: "string" } },
      true,
    );
    const [modelPath, prompt, ...rest] = positionals;
    if (!modelPath || prompt === undefined || rest.length > 0) throw new UsageError("generate takes MODEL.gguf and PROMPT");
    const maxTokens = intFlag(values, "max-tokens", 128, 0, 2 ** 31 - 1)!;
    const temperature = numberFlag(values, "temperature", 0.8, 0, 1e6)!;
    const threads = intFlag(values, "threads", undefined, 1, 1024);
    const model = await loadModel(modelPath);
    try {
      const ctx = await model.createContext(threads !== undefined ? { threads } : {});
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once("SIGINT", onSigint);
      const it = ctx.generate(prompt, { maxTokens, temperature, signal: ac.signal });
      let r = await it.next();
      while (!r.done) {
        process.stdout.write(r.value.text);
        r = await it.next();
      }
      process.off("SIGINT", onSigint);
      const t = r.value.timings;
      const rate = t.generateMs > 0 ? ((t.generatedTokens / t.generateMs) * 1000).toFixed(1) : "-";
      console.error(`\n[${t.generatedTokens} tokens, ${rate} tokens/s, stop: ${r.value.stopReason}]`);
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
