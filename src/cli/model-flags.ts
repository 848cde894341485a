// Flags shared by the commands that load a model and make a context.
import { type Context, type ContextOptions, type Model, loadModel } from "../index";
import { intFlag, UsageError } from "./args";
import { Progress } from "./progress";

export const MODEL_FLAGS = {
  model: { type: "string", short: "m" },
  "ctx-size": { type: "string", short: "c" },
  threads: { type: "string", short: "t" },
  "gpu-layers": { type: "string", short: "g" },
  rpc: { type: "string" },
  "tensor-split": { type: "string" },
} as const;

export const MODEL_USAGE = `    -m, --model FILE      the GGUF model (required)
    -c, --ctx-size N      context size in tokens (default: the model's, at most 4096)
    -t, --threads N       threads (default: every core)
    -g, --gpu-layers N    layers to offload to a GPU or the RPC workers (-1 = all)
    --rpc HOST:PORT,...   RPC workers holding part of the model (llama-native rpc-server; docs/rpc.md)
    --tensor-split A,B,.. share of the offloaded layers per device, RPC workers first`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Loads the model named by --model, with a progress bar on a terminal. */
export async function loadFromFlags(values: Values): Promise<Model> {
  const file = values.model;
  if (typeof file !== "string") throw new UsageError("--model FILE is required");
  const gpuLayers = intFlag(values, "gpu-layers", undefined, -1, 2 ** 31 - 1);
  const rpcServers = typeof values.rpc === "string" ? values.rpc.split(",").filter((s) => s !== "") : undefined;
  const split = values["tensor-split"];
  const tensorSplit = typeof split === "string" ? split.split(/[,/]/).map(Number) : undefined;
  if (tensorSplit?.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new UsageError(`--tensor-split must be non-negative numbers separated by commas; got ${JSON.stringify(split)}`);
  }
  const bar = new Progress(`loading ${file}`);
  try {
    return await loadModel(file, { gpuLayers, rpcServers, tensorSplit, onProgress: (p) => bar.update(p) });
  } finally {
    bar.done();
  }
}

export function contextOptionsFromFlags(values: Values, extra: ContextOptions = {}): ContextOptions {
  const contextSize = intFlag(values, "ctx-size", undefined, 1, 2 ** 24);
  const threads = intFlag(values, "threads", undefined, 1, 1024);
  return { ...extra, ...(contextSize !== undefined ? { contextSize } : {}), ...(threads !== undefined ? { threads } : {}) };
}

export async function contextFromFlags(model: Model, values: Values, extra: ContextOptions = {}): Promise<Context> {
  return model.createContext(contextOptionsFromFlags(values, extra));
}

/** Reads all of stdin as text (for commands that take their input from a pipe). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
