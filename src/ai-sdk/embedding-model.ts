// The AI SDK embedding model (specification v4): doEmbed over ctx.embed() on an embedding context.
import type { EmbeddingModelV4, EmbeddingModelV4CallOptions, EmbeddingModelV4Result } from "@ai-sdk/provider";
import type { Context } from "../context";

/** What an embedding model needs from its provider. */
export interface EmbeddingModelHost {
  readonly modelId: string;
  /** The provider's embedding context (made on first use). */
  embeddingContext(): Promise<Context>;
}

export class LlamaNativeEmbeddingModel implements EmbeddingModelV4 {
  readonly specificationVersion = "v4" as const;
  readonly provider = "llama-native";
  readonly modelId: string;
  /** ctx.embed batches any number of inputs itself (each must fit the context). */
  readonly maxEmbeddingsPerCall = Infinity;
  /** Calls share one context and run one after another: embedMany sends one call. */
  readonly supportsParallelCalls = false;
  readonly #host: EmbeddingModelHost;

  /** @internal use the provider's embeddingModel() */
  constructor(host: EmbeddingModelHost) {
    this.#host = host;
    this.modelId = host.modelId;
  }

  async doEmbed(options: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    const warnings: EmbeddingModelV4Result["warnings"] = [];
    if (options.dimensions !== undefined) {
      warnings.push({ type: "unsupported", feature: "dimensions", details: "the model's embedding length is fixed" });
    }
    const ctx = await this.#host.embeddingContext();
    // as llama-server's /v1/embeddings: without pooling each value would give one vector per token
    if (ctx.info.pooling === "none") {
      throw new TypeError(
        'the embedding context pools nothing (pooling "none", this model\'s default): it gives a vector per token, not per value. ' +
          'Give llamaNative an embeddingContext pooling ("mean", "cls" or "last")',
      );
    }
    const vectors = await ctx.embed(options.values, options.abortSignal ? { signal: options.abortSignal } : {});
    let tokens = 0;
    for (const t of options.values) tokens += ctx.model.tokenize(t, { addSpecial: true, parseSpecial: true }).length;
    return { embeddings: vectors.map((v) => Array.from(v)), usage: { tokens }, warnings };
  }
}
