// GGUF files: read and validate headers (reader.ts), check model metadata (metadata.ts), the types (types.ts).
export { readGgufInfo, validateModelFile } from "./reader";
export { checkModelMetadata, LLAMA_MAX_LAYERS, LLAMA_MAX_EXPERTS } from "./metadata";
export { GGUF_MAGIC, GgufValueType, GGML_TYPES, GGML_MAX_DIMS } from "./types";
export type { GgufValue, GgufTensorInfo, GgufInfo, ReadGgufOptions } from "./types";
