// The child process of loadModel's preflight (see preflight.ts). argv: model path, native load options.
import { loadModel } from "./model";
import type { PreflightLoad } from "./preflight";

async function main(): Promise<void> {
  const file = process.argv[2]!;
  const load = JSON.parse(process.argv[3] ?? "{}") as PreflightLoad;
  const model = await loadModel(file, load);
  if (!load.vocabOnly) {
    // Decode a few tokens: some faults only show when the weights are used.
    const ctx = await model.createContext({ contextSize: 64, batchSize: 8, threads: 1 });
    const bos = Math.max(model.vocab.bos, 0);
    await ctx.complete([bos, bos], { temperature: 0, maxTokens: 2 });
    await ctx.dispose();
  }
  await model.dispose();
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stdout.write(JSON.stringify({ error: e.message, code: (e as { code?: string }).code }) + "\n");
    process.exit(1);
  },
);
