// The one place that loads the native addon and types its surface.
//
// Load order: LLAMA_NATIVE_BINARY (an explicit path), then a local source build (build/Release),
// then the prebuild for this platform under prebuilds/. Every candidate that fails is recorded, and
// if none loads, one error lists them with the platform facts and the command that fixes it.
import fs from "node:fs";
import path from "node:path";
import { LlamaError } from "./errors";

export interface NativeModelInfo {
  architecture: string;
  name: string;
  description: string;
  nParams: number;
  sizeBytes: number;
  contextLength: number;
  embeddingLength: number;
  embeddingOutputLength: number;
  layers: number;
  heads: number;
  headsKv: number;
  vocabSize: number;
  hasEncoder: boolean;
  hasDecoder: boolean;
  chatTemplate?: string;
  metadata: Record<string, string>;
}

export interface NativeVocab {
  bos: number;
  eos: number;
  eot: number;
  nl: number;
  size: number;
  addBos: boolean;
  addEos: boolean;
  vocabOnly: boolean;
}

export interface NativeContextInfo {
  contextSize: number;
  batchSize: number;
  ubatchSize: number;
  sequences: number;
  threads: number;
  batchThreads: number;
  embeddings: boolean;
  pooling: string;
  canShift: boolean;
}

export interface NativeGenerationResult {
  stopReason: "eog" | "maxTokens" | "stop" | "abort" | "contextFull";
  promptTokens: number;
  evaluatedPromptTokens: number;
  reusedTokens: number;
  promptMs: number;
  generatedTokens: number;
  generateMs: number;
}

export interface NativeAbortFlag {
  abort(): void;
  readonly aborted: boolean;
}

export interface NativeModel {
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array | readonly number[], removeSpecial: boolean, unparseSpecial: boolean): string;
  tokenToPiece(token: number, special: boolean): string;
  isEog(token: number): boolean;
  info(): NativeModelInfo;
  vocab(): NativeVocab;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeContext {
  generate(
    prompt: Int32Array,
    options: Record<string, unknown>,
    abort: NativeAbortFlag,
    onChunk: (text: string, tokens: Int32Array) => void,
  ): Promise<NativeGenerationResult>;
  embed(inputs: Int32Array[], normalize: boolean, abort: NativeAbortFlag): Promise<Float32Array[]>;
  info(): NativeContextInfo;
  cachedTokens(): Int32Array;
  clearCache(): void;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeSystemInfo {
  llamaCppSystemInfo: string;
  gpu: string;
  supportsGpuOffload: boolean;
  supportsMmap: boolean;
  maxSequences: number;
  devices: { name: string; description: string }[];
}

export interface NativeBinding {
  Model: {
    load(
      path: string,
      options: Record<string, unknown>,
      abort: NativeAbortFlag,
      onProgress?: (progress: number) => void,
    ): Promise<NativeModel>;
    prototype: NativeModel;
  };
  Context: {
    create(model: NativeModel, options: Record<string, unknown>): Promise<NativeContext>;
    prototype: NativeContext;
  };
  AbortFlag: new () => NativeAbortFlag;
  setLogLevel(level: number): void;
  setLogger(fn: ((level: number, text: string) => void) | null): void;
  systemInfo(): NativeSystemInfo;
  napiVersion: number;
}

export const packageRoot = path.resolve(__dirname, "..");
const ADDON = "llama_native.node";

interface Attempt {
  candidate: string;
  reason: string;
}

function libc(): string {
  if (process.platform !== "linux") return "";
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? `glibc ${report.header.glibcVersionRuntime}` : "musl";
}

function candidates(): string[] {
  const list: string[] = [];
  if (process.env.LLAMA_NATIVE_BINARY) list.push(path.resolve(process.env.LLAMA_NATIVE_BINARY));
  list.push(path.join(packageRoot, "build", "Release", ADDON));
  const dir = path.join(packageRoot, "prebuilds", `${process.platform}-${process.arch}`);
  if (fs.existsSync(dir)) {
    const isMusl = libc() === "musl";
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith(".node")) continue;
      if (process.platform === "linux" && f.includes(".musl") !== isMusl) continue;
      list.push(path.join(dir, f));
    }
  } else {
    list.push(dir + path.sep + "*.node");
  }
  return list;
}

function load(): NativeBinding {
  const attempts: Attempt[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      attempts.push({ candidate: file, reason: "not found" });
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const b = require(file) as NativeBinding;
      if (typeof b?.Model?.load !== "function") throw new Error("not a llama-native addon");
      return b;
    } catch (e) {
      attempts.push({ candidate: file, reason: (e as Error).message.split("\n")[0] ?? String(e) });
    }
  }
  const lines = attempts.map((a) => `  - ${path.relative(process.cwd(), a.candidate) || a.candidate}: ${a.reason}`);
  throw new LlamaError(
    [
      "llama-native: could not load the native addon. Tried:",
      ...lines,
      `Platform: ${process.platform}-${process.arch}${libc() ? ` (${libc()})` : ""}, Node ${process.versions.node}, ` +
        `N-API ${process.versions.napi}.`,
      "Fix: build it from source for this machine with `npx llama-native build` (needs cmake >= 3.19 and a C++17",
      "compiler), or set LLAMA_NATIVE_BINARY to a llama_native.node built for this platform.",
    ].join("\n"),
    "ERR_LLAMA_BINDING",
  );
}

let cached: NativeBinding | undefined;

/** The loaded addon (loaded on first use, so importing the package never throws). */
export function binding(): NativeBinding {
  cached ??= load();
  return cached;
}
