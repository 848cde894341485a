// llama-native inspect MODEL: a readable summary of a GGUF file, without loading its weights.
import fs from "node:fs";
import { type GgufInfo, readGgufInfo } from "../index";
import { type Command, parse, UsageError } from "./args";

export interface ModelSummary {
  file: string;
  fileBytes: number;
  ggufVersion: number;
  architecture: string | undefined;
  name: string | undefined;
  parameters: number;
  /** tensor types by the bytes they take, largest first */
  quantization: { type: string; tensors: number; bytes: number; share: number }[];
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  layers: number | undefined;
  heads: number | undefined;
  headsKv: number | undefined;
  vocabulary: { model: string | undefined; tokens: number | undefined; bos: number | undefined; eos: number | undefined };
  chatTemplate: string | undefined;
  metadataKeys: number;
}

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function summarize(file: string, info: GgufInfo): ModelSummary {
  const md = info.metadata;
  const arch = info.architecture;
  const key = (k: string) => (arch ? md[`${arch}.${k}`] : undefined);
  const byType = new Map<string, { tensors: number; bytes: number }>();
  let parameters = 0;
  let total = 0;
  for (const t of info.tensors) {
    parameters += t.shape.reduce((a, b) => a * b, 1);
    total += t.sizeBytes;
    const e = byType.get(t.typeName) ?? { tensors: 0, bytes: 0 };
    e.tensors++;
    e.bytes += t.sizeBytes;
    byType.set(t.typeName, e);
  }
  const tokens = md["tokenizer.ggml.tokens"];
  return {
    file,
    fileBytes: info.fileSize,
    ggufVersion: info.version,
    architecture: arch,
    name: str(md["general.name"]),
    parameters,
    quantization: [...byType]
      .map(([type, e]) => ({ type, ...e, share: total > 0 ? e.bytes / total : 0 }))
      .sort((a, b) => b.bytes - a.bytes),
    contextLength: num(key("context_length")),
    embeddingLength: num(key("embedding_length")),
    layers: num(key("block_count")),
    heads: num(key("attention.head_count")),
    headsKv: num(key("attention.head_count_kv")),
    vocabulary: {
      model: str(md["tokenizer.ggml.model"]),
      tokens: Array.isArray(tokens) ? tokens.length : undefined,
      bos: num(md["tokenizer.ggml.bos_token_id"]),
      eos: num(md["tokenizer.ggml.eos_token_id"]),
    },
    chatTemplate: str(md["tokenizer.chat_template"]),
    metadataKeys: Object.keys(md).length,
  };
}

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
const count = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);

export function formatSummary(s: ModelSummary): string {
  const lines = [
    `${s.file}`,
    `  architecture   ${s.architecture ?? "?"}${s.name ? ` (${s.name})` : ""}`,
    `  size           ${mb(s.fileBytes)}, ${count(s.parameters)} parameters, GGUF v${s.ggufVersion}`,
    `  quantization   ${s.quantization.map((q) => `${q.type} ${(q.share * 100).toFixed(1)} % (${q.tensors} tensors)`).join(", ") || "no tensors"}`,
    `  context        ${s.contextLength ?? "?"} tokens (trained)`,
    `  shape          ${s.layers ?? "?"} layers, embedding ${s.embeddingLength ?? "?"}, ${s.heads ?? "?"} heads (${s.headsKv ?? "?"} KV)`,
    `  vocabulary     ${s.vocabulary.tokens ?? "?"} tokens (${s.vocabulary.model ?? "?"}), BOS ${s.vocabulary.bos ?? "-"}, EOS ${s.vocabulary.eos ?? "-"}`,
  ];
  if (s.chatTemplate) {
    const first = s.chatTemplate
      .split("\n")
      .slice(0, 3)
      .map((l) => (l.length > 100 ? `${l.slice(0, 100)}…` : l));
    lines.push(`  chat template  ${s.chatTemplate.length} characters:`, ...first.map((l) => `                 ${l}`));
  } else {
    lines.push("  chat template  none");
  }
  lines.push(`  metadata       ${s.metadataKeys} keys`);
  return lines.join("\n");
}

export const inspect: Command = {
  name: "inspect",
  summary: "a readable summary of a GGUF model: architecture, size, quantization, vocabulary, chat template",
  usage: `llama-native inspect MODEL.gguf [--json]
    Reads the GGUF header (no weights) and prints architecture, size, the quantization mix, the trained
    context, the vocabulary and the chat template. --json prints the same as one JSON object.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, true);
    if (positionals.length !== 1) throw new UsageError("inspect takes one model path");
    const file = positionals[0]!;
    if (!fs.existsSync(file)) throw new Error(`no such file: ${file}`);
    const s = summarize(file, await readGgufInfo(file));
    process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatSummary(s)}\n`);
    return 0;
  },
};
