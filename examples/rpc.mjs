// A model split over two RPC workers (docs/rpc.md), all on this machine: starts two
// `llama-native rpc-server` processes on 127.0.0.1, loads the model across them and this process,
// and prints the same greedy continuation as a local load. On real machines, run the workers there
// (`npx llama-native rpc-server --host <private address>`) and list their addresses instead.
//   node examples/rpc.mjs [MODEL.gguf] ["prompt"]
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "llama-native";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let modelPath = process.argv[2] ?? process.env.LLAMA_NATIVE_TEST_MODEL ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
if (!fs.existsSync(modelPath)) {
  const { makeRandomLlama } = await import("../scripts/make-model.mjs");
  modelPath = await makeRandomLlama({ out: path.join(root, "test", "fixtures", "generated", "quickstart-random.gguf"), outputSigma: 1 });
}
const prompt = process.argv[3] ?? "Once upon a time";

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startWorker() {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [path.join(root, "bin", "llama-native.mjs"), "rpc-server", "--port", String(port), "--threads", "1"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  // ggml's server prints its settings, then listens
  await new Promise((resolve) => proc.stdout.on("data", (d) => String(d).includes("transport") && setTimeout(resolve, 200)));
  return { proc, endpoint: `127.0.0.1:${port}` };
}

const workers = [await startWorker(), await startWorker()];
try {
  for (const rpcServers of [[], workers.map((w) => w.endpoint)]) {
    const model = await loadModel(modelPath, { rpcServers, tensorSplit: rpcServers.length ? [1, 1] : [] });
    const ctx = await model.createContext();
    const r = await ctx.complete(prompt, { temperature: 0, maxTokens: 32 });
    console.log(`${rpcServers.length ? `split over ${rpcServers.join(", ")}` : "local"}: ${JSON.stringify(prompt + r.text)}`);
    await model.dispose();
  }
} finally {
  for (const w of workers) w.proc.kill();
}
