// llama-native embed: one embedding per line of stdin, as JSON lines.
import readline from "node:readline";
import { type Command, parse, UsageError } from "./args";
import { contextFromFlags, loadFromFlags, MODEL_FLAGS, MODEL_USAGE } from "./model-flags";
import type { Pooling } from "../index";

const POOLINGS = ["default", "none", "mean", "cls", "last"];
const BATCH = 64;

export const embed: Command = {
  name: "embed",
  summary: "embed each line of stdin, one JSON line each",
  usage: `llama-native embed -m MODEL [options] < lines.txt
    Reads texts from stdin, one per line, and writes one JSON line per text to stdout:
    {"index": N, "embedding": [...]}, N the line's number from 0 (empty lines are skipped). Lines are
    embedded in batches of ${BATCH}.
${MODEL_USAGE}
    --pooling P           default | none | mean | cls | last (default: the model's)
    --no-normalize        keep the vectors as the model makes them (default: L2-normalized)`,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { ...MODEL_FLAGS, pooling: { type: "string" }, "no-normalize": { type: "boolean" } },
      false,
    );
    void positionals;
    const pooling = values.pooling;
    if (pooling !== undefined && !POOLINGS.includes(String(pooling)))
      throw new UsageError(`--pooling must be one of ${POOLINGS.join(", ")}`);
    const model = await loadFromFlags(values);
    try {
      const ctx = await contextFromFlags(model, values, { embeddings: true, ...(pooling ? { pooling: pooling as Pooling } : {}) });
      const normalize = !values["no-normalize"];
      let lineNo = 0;
      let batch: { index: number; text: string }[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const vectors = await ctx.embed(
          batch.map((b) => b.text),
          { normalize },
        );
        for (const [i, v] of vectors.entries())
          process.stdout.write(`${JSON.stringify({ index: batch[i]!.index, embedding: Array.from(v) })}\n`);
        batch = [];
      };
      for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        const index = lineNo++;
        if (line.length === 0) continue;
        batch.push({ index, text: line });
        if (batch.length >= BATCH) await flush();
      }
      await flush();
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
