// Reranking: a context created with pooling "rank" scores (query, document) pairs through the
// model's classification head. Each input is built as llama-server builds it (format_prompt_rerank
// in vendor/llama.cpp/tools/server/server-common.cpp) and scored through the embedding path; what
// llama.cpp needs of the model for that is checked when the context is created.
import path from "node:path";
import type { NativeContextInfo } from "./binding";
import { type OpsHost, runEmbed } from "./context-ops";
import type { ContextModel } from "./context-types";
import { ContextFullError, LlamaError, withCallerStack } from "./errors";
import { readGgufInfo } from "./gguf";
import { defineOptions, v } from "./options";
import { describe } from "./validate";

export interface RankOptions {
  signal?: AbortSignal;
}

const parseRankOptions = defineOptions<RankOptions>("rank options", { signal: v.signal });

/** The metadata key of a model's rerank prompt, as llama_model_chat_template(model, "rerank") reads it. */
export const RERANK_TEMPLATE_KEY = "tokenizer.chat_template.rerank";

/**
 * @internal What createContext() checks before handing out a context whose pooling resolved to
 * "rank". llama.cpp itself checks only the vocabulary (common_init_from_params: a BOS token, and an
 * EOS or SEP token or a rerank prompt) and otherwise computes a score from whatever the graph
 * holds: without a classification head (tensors cls.weight / cls.output.weight, which only the
 * reranker architectures load) that is a number read out of a pooled embedding, and with a head
 * narrower than the classifier's labels llama.cpp reads past its output (llama-server aborts:
 * GGML_ASSERT(offset + size <= ggml_nbytes(tensor)) in ggml-backend.cpp).
 */
export async function checkRankModel(model: ContextModel): Promise<void> {
  const what = `${path.basename(model.path)} (${model.info.architecture})`;
  const info = await readGgufInfo(model.path);
  const tensors = [...info.tensors];
  // A split model (llama_split_path's NAME-0000i-of-0000n.gguf) keeps its head in a later file.
  const splits = Number(info.metadata["split.count"] ?? 1);
  const m = /^(.*)-00001-of-(\d{5})\.gguf$/.exec(model.path);
  if (splits > 1 && m) {
    for (let i = 2; i <= splits; i++) {
      const part = `${m[1]}-${String(i).padStart(5, "0")}-of-${m[2]}.gguf`;
      tensors.push(...(await readGgufInfo(part)).tensors);
    }
  }
  const tensor = (name: string) => tensors.find((t) => t.name === name);
  const labels = info.metadata[`${model.info.architecture}.classifier.output_labels`] as { length: number } | undefined;
  const nClsOut = labels && labels.length > 0 ? labels.length : 1;
  const cls = tensor("cls.weight");
  const clsOut = tensor("cls.output.weight");
  if (!cls && !clsOut) {
    throw new LlamaError(
      `pooling "rank" needs a reranker: a model with a classification head (tensors cls.weight or cls.output.weight, as ` +
        `llama.cpp's converter writes them for BERT-family and Qwen3 rerankers); ${what} has none. Create the context ` +
        `with another pooling to embed with it`,
    );
  }
  if (!clsOut && cls && (cls.shape[1] ?? 1) < nClsOut) {
    throw new LlamaError(
      `pooling "rank" cannot be used with ${what}: its classification head has ${cls.shape[1] ?? 1} outputs but its ` +
        `classifier names ${nClsOut} labels`,
    );
  }
  const vocab = model.vocab;
  if (vocab.bos < 0) {
    throw new LlamaError(`pooling "rank" needs a BOS token, and the vocabulary of ${what} has none (as llama.cpp's tools refuse)`);
  }
  if (vocab.eos < 0 && vocab.sep < 0 && typeof model.info.metadata[RERANK_TEMPLATE_KEY] !== "string") {
    throw new LlamaError(
      `pooling "rank" needs an EOS or SEP token or a rerank prompt (${RERANK_TEMPLATE_KEY}) to join query and document, ` +
        `and ${what} has none (as llama.cpp's tools refuse)`,
    );
  }
}

/**
 * @internal The tokens of one (query, document) pair, as llama-server's format_prompt_rerank: the
 * model's rerank prompt with {query} and {document} replaced (special tokens parsed, none added),
 * else BOS query EOS SEP document EOS, each special token only where the vocabulary adds it (EOS
 * falls back to SEP).
 */
export function rankInput(model: ContextModel, query: string, document: string, queryTokens?: Int32Array): Int32Array {
  const template = model.info.metadata[RERANK_TEMPLATE_KEY];
  if (typeof template === "string") {
    const prompt = template.split("{query}").join(query).split("{document}").join(document);
    return model.tokenize(prompt, { addSpecial: false, parseSpecial: true });
  }
  const v = model.vocab;
  const q = queryTokens ?? plain(model, query);
  const d = plain(model, document);
  const eos = v.eos >= 0 ? v.eos : v.sep;
  const out: number[] = [];
  if (v.addBos) out.push(v.bos);
  for (const t of q) out.push(t);
  if (v.addEos) out.push(eos);
  if (v.addSep) out.push(v.sep);
  for (const t of d) out.push(t);
  if (v.addEos) out.push(eos);
  return Int32Array.from(out);
}

const plain = (model: ContextModel, text: string) => model.tokenize(text, { addSpecial: false, parseSpecial: false });

/** @internal ctx.rank() */
export async function rankDocuments(
  h: OpsHost,
  model: ContextModel,
  info: Readonly<NativeContextInfo>,
  query: unknown,
  documents: unknown,
  options: RankOptions,
  site: Error,
): Promise<number[]> {
  if (typeof query !== "string") throw new TypeError(`query must be a string; got ${describe(query)}`);
  if (!Array.isArray(documents)) throw new TypeError(`documents must be an array of strings; got ${describe(documents)}`);
  documents.forEach((d, i) => {
    if (typeof d !== "string") throw new TypeError(`documents[${i}] must be a string; got ${describe(d)}`);
  });
  const o = parseRankOptions(options);
  if (!info.embeddings || info.pooling !== "rank") {
    throw new LlamaError(
      `rank() needs a context created with { embeddings: true, pooling: "rank" }; this one has embeddings: ${info.embeddings}, ` +
        `pooling: "${info.pooling}"`,
    );
  }
  if (documents.length === 0) return [];
  // The query is tokenized once (a rerank prompt embeds it in text instead).
  const q = typeof model.info.metadata[RERANK_TEMPLATE_KEY] === "string" ? undefined : plain(model, query);
  const limit = Math.min(info.batchSize, info.ubatchSize, info.contextSize);
  const trained = model.info.contextLength;
  const inputs = (documents as string[]).map((d, i) => {
    const toks = rankInput(model, query, d, q);
    const most = trained > 0 ? Math.min(limit, trained) : limit;
    if (toks.length > most) {
      throw withCallerStack(
        new ContextFullError(
          `documents[${i}] with the query is ${toks.length} tokens; this context ranks at most ${most} per pair ` +
            `(contextSize ${info.contextSize}, batchSize ${info.batchSize}, ubatchSize ${info.ubatchSize}, trained context ${trained})`,
        ),
        site,
      );
    }
    return toks;
  });
  const out = await runEmbed(h, inputs, false, o.signal, site);
  return out.map((scores) => scores[0]!);
}
