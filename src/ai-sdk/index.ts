// llama-native/ai-sdk: an AI SDK provider (specification v4 of @ai-sdk/provider) over a local model
// (docs/ai-sdk.md). @ai-sdk/provider is needed for its types only: nothing here loads it at run time.
export { llamaNative } from "./provider";
export type { LlamaNativeProvider, LlamaNativeProviderOptions } from "./provider";
export { LlamaNativeLanguageModel } from "./language-model";
export { LlamaNativeEmbeddingModel } from "./embedding-model";
export { PROVIDER_KEY, UnsupportedPromptError } from "./convert";
export type { LlamaNativeCallSettings } from "./convert";
