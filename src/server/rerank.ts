// POST /v1/rerank (and /rerank, /v1/reranking, /reranking), as llama-server answers it
// (tools/server/server-context.cpp post_rerank, server-common.cpp format_response_rerank): Jina's
// shape `{ query, documents, top_n }` → `{ model, object, usage, results: [{ index, relevance_score }] }`,
// or TEI's when the body has `texts` instead of `documents` → `[{ index, score, text? }]`. Results are
// sorted by score, highest first, and cut to top_n.
import type { Context } from "../context";
import { rankInput } from "../rank";
import { badField } from "./http";

type Body = Record<string, unknown>;

export interface RerankRequest {
  query: string;
  documents: string[];
  topN: number;
  /** TEI's format (the body named `texts`) */
  tei: boolean;
  returnText: boolean;
}

export function rerankFromBody(body: Body): RerankRequest {
  if (typeof body.query !== "string") throw badField("query", body.query === undefined ? "must be provided" : "must be a string");
  const tei = "texts" in body;
  const field = body.documents !== undefined ? "documents" : "texts";
  const docs = body.documents ?? body.texts;
  if (!Array.isArray(docs) || docs.length === 0 || !docs.every((d) => typeof d === "string"))
    throw badField(field, "must be a non-empty array of strings");
  const topN = body.top_n ?? docs.length;
  if (!Number.isInteger(topN) || (topN as number) < 0) throw badField("top_n", "must be a non-negative integer");
  return { query: body.query, documents: docs as string[], topN: topN as number, tei, returnText: tei && body.return_text === true };
}

export async function rerank(ctx: Context, modelId: string, body: Body, r: RerankRequest, signal: AbortSignal): Promise<unknown> {
  const scores = await ctx.rank(r.query, r.documents, { signal });
  const label = r.tei ? "score" : "relevance_score";
  let tokens = 0;
  for (const d of r.documents) tokens += rankInput(ctx.model, r.query, d).length;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const results = order
    .slice(0, r.topN)
    .map((index) => ({ index, [label]: scores[index]!, ...(r.returnText ? { text: r.documents[index] } : {}) }));
  if (r.tei) return results;
  return {
    model: typeof body.model === "string" ? body.model : modelId,
    object: "list",
    usage: { prompt_tokens: tokens, total_tokens: tokens },
    results,
  };
}
