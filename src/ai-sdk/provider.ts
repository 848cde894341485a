// llamaNative(): the AI SDK provider. It holds one model (loaded from a path, or one the caller
// loaded) and makes, on first use, one generation context (shared by every language model it hands
// out; parallel calls run in its sequences) and one embedding context.
import type { Context } from "../context";
import { type ContextOptions, parseContextOptions } from "../context-options";
import { type LoadModelOptions, type Model, loadModel } from "../model";
import { defineOptions, v } from "../options";
import { describe } from "../validate";
import { type LlamaNativeCallSettings, parseCallSettings } from "./convert";
import { LlamaNativeEmbeddingModel } from "./embedding-model";
import { LlamaNativeLanguageModel } from "./language-model";

export interface LlamaNativeProviderOptions {
  /** A loaded Model (the caller disposes it), or the path of a GGUF file (loaded on first use, disposed by dispose()). */
  model: Model | string;
  /** Options for loading `model` when it is a path. */
  loadOptions?: LoadModelOptions;
  /** The generation context's options (createContext's). `sequences` > 1 lets that many calls generate at once. */
  context?: ContextOptions;
  /** The embedding context's options (createContext's; `embeddings: true` is implied). */
  embeddingContext?: ContextOptions;
  /** A Jinja chat template to use instead of the model's own. */
  chatTemplate?: string;
  /** The modelId the AI SDK reports (default: the file name). */
  modelId?: string;
}

const object = (value: unknown, name: string) => {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new TypeError(`${name} must be an object; got ${describe(value)}`);
  return value;
};

const parseProviderOptions = defineOptions<LlamaNativeProviderOptions>("llamaNative options", {
  model: (value, name) => {
    if (typeof value === "string" && value.length > 0) return value;
    if (value !== null && typeof value === "object" && "createContext" in value) return value as Model;
    throw new TypeError(`${name} must be a Model or the path of a GGUF file; got ${describe(value)}`);
  },
  loadOptions: (value, name) => object(value, name) as LoadModelOptions,
  context: (value, name) => {
    const o = parseContextOptions(object(value, name));
    if (o.embeddings)
      throw new TypeError(`${name}.embeddings must not be true: the generation context generates (use embeddingContext for embeddings)`);
    return value as ContextOptions;
  },
  embeddingContext: (value, name) => {
    const o = parseContextOptions(object(value, name));
    if (o.embeddings === false) throw new TypeError(`${name}.embeddings must not be false: this is the embedding context`);
    return value as ContextOptions;
  },
  chatTemplate: (value, name) => {
    if (typeof value !== "string" || value.length === 0)
      throw new TypeError(`${name} must be a non-empty Jinja template string; got ${describe(value)}`);
    return value;
  },
  modelId: v.string,
});

export interface LlamaNativeProvider {
  /** The language model (same as languageModel(settings)). */
  (settings?: LlamaNativeCallSettings): LlamaNativeLanguageModel;
  /** A language model; `settings` are its default llama-native call settings (a call's providerOptions override them). */
  languageModel(settings?: LlamaNativeCallSettings): LlamaNativeLanguageModel;
  /** The embedding model (for embed / embedMany). */
  embeddingModel(): LlamaNativeEmbeddingModel;
  /** The model, loaded (on the first call when it was given as a path). */
  model(): Promise<Model>;
  /** Frees the contexts, and the model when the provider loaded it. Idempotent; models handed out stop working. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Made once; a failure is not kept (the next call tries again). */
function once<T>(make: () => Promise<T>): { get: () => Promise<T>; peek: () => Promise<T> | undefined } {
  let p: Promise<T> | undefined;
  return {
    get: () => {
      if (!p) {
        p = make();
        p.catch(() => (p = undefined));
      }
      return p;
    },
    peek: () => p,
  };
}

/**
 * An AI SDK provider over a local GGUF model:
 * `const llama = llamaNative({ model: "model.gguf" }); await generateText({ model: llama(), prompt })`.
 */
export function llamaNative(options: LlamaNativeProviderOptions): LlamaNativeProvider {
  const o = parseProviderOptions(options);
  if (o.model === undefined) throw new TypeError("llamaNative options: model is required (a Model or the path of a GGUF file)");
  if (o.loadOptions !== undefined && typeof o.model !== "string")
    throw new TypeError("llamaNative options: loadOptions applies only when model is a path");
  const given = o.model;
  const path = typeof given === "string" ? given : given.path;
  const modelId = o.modelId ?? path.split(/[\\/]/).pop()!;
  let disposed = false;
  const live = () => {
    if (disposed) throw new TypeError("this llamaNative provider has been disposed");
  };
  const model = once(async () => (typeof given === "string" ? loadModel(given, o.loadOptions ?? {}) : given));
  const context = once(async () => (await model.get()).createContext({ ...(o.context ?? {}) }));
  const embeddingContext = once(async () => (await model.get()).createContext({ ...(o.embeddingContext ?? {}), embeddings: true }));
  const host = {
    modelId,
    chatTemplate: o.chatTemplate,
    context: async (): Promise<Context> => {
      live();
      return context.get();
    },
    embeddingContext: async (): Promise<Context> => {
      live();
      return embeddingContext.get();
    },
  };
  const languageModel = (settings: LlamaNativeCallSettings = {}) => {
    live();
    parseCallSettings(settings);
    return new LlamaNativeLanguageModel(host, { ...settings });
  };
  let disposing: Promise<void> | undefined;
  const dispose = () => {
    disposing ??= (async () => {
      disposed = true;
      const contexts = await Promise.allSettled([context.peek(), embeddingContext.peek()]);
      for (const c of contexts) if (c.status === "fulfilled" && c.value) await c.value.dispose();
      if (typeof given === "string") {
        const m = await model.peek()?.catch(() => undefined);
        await m?.dispose();
      }
    })();
    return disposing;
  };
  const provider = ((settings?: LlamaNativeCallSettings) => languageModel(settings)) as LlamaNativeProvider;
  provider.languageModel = languageModel;
  provider.embeddingModel = () => {
    live();
    return new LlamaNativeEmbeddingModel(host);
  };
  provider.model = () => {
    live();
    return model.get();
  };
  provider.dispose = dispose;
  provider[Symbol.asyncDispose] = dispose;
  return provider;
}
