// Public API: re-exports only.
export { loadModel, Model } from "./model";
export type {
  LoadModelOptions,
  ModelInfo,
  ModelDevicePlacement,
  Vocab,
  TokenizeOptions,
  DetokenizeOptions,
  TokenToPieceOptions,
} from "./model";
export type { PreflightOptions } from "./preflight";
export { Context } from "./context";
export type { EmbedOptions, RankOptions, ContextModel } from "./context";
export { defaultThreads } from "./context-options";
export type {
  ContextOptions,
  ContextShiftOptions,
  DraftModel,
  DraftModelOptions,
  NgramOptions,
  Pooling,
  SpeculativeOptions,
} from "./context-options";
export type {
  GenerationChunk,
  GenerationResult,
  CompletionResult,
  StopReason,
  Timings,
  SamplingOptions,
  SequenceGenerationOptions,
  XtcOptions,
  DryOptions,
  MirostatOptions,
  TokenLogprob,
  TokenProbability,
} from "./generation-types";
export { Sequence } from "./sequence";
export { LoraAdapter } from "./lora";
export type { LoraSpec } from "./lora";
export { Projector, MEDIA_MARKER } from "./projector";
export type { MediaInput, Modalities, ProjectorOptions } from "./projector";
export type { StateOptions } from "./state";
export type { GenerationOptions } from "./sampling";
export type { JsonSchema, ResponseFormat } from "./generation-types";
export { ChatSession } from "./chat/session";
export type { ChatSessionOptions, SessionTurnOptions } from "./chat/session";
export { jsonSchemaToGrammar } from "./chat/json-schema";
export type {
  ChatMessage,
  ContentPart,
  AssistantMessage,
  ToolCall,
  ToolDefinition,
  OpenAITool,
  ToolChoice,
  ReasoningFormat,
  ApplyChatTemplateOptions,
  ChatTemplateResult,
  GrammarTrigger,
  SessionTool,
  ChatOptions,
  ChatChunk,
  ChatResult,
} from "./chat/types";
export { readGgufInfo, checkModelMetadata, GgufValueType, GGML_TYPES } from "./gguf";
export type { GgufInfo, GgufTensorInfo, GgufValue, ReadGgufOptions } from "./gguf";
export { writeGguf } from "./gguf-writer";
export { quantize, QUANTIZE_TYPES } from "./quantize";
export type { QuantizeOptions, QuantizeType } from "./quantize";
export type { GgufWriteInput, GgufWriteRawTensor, GgufWriteTensor, GgufWriteValue } from "./gguf-writer";
export {
  LlamaError,
  InvalidModelFileError,
  ModelLoadError,
  ContextFullError,
  DisposedError,
  AbortError,
  InvalidStateError,
  RpcError,
  InvalidMediaError,
} from "./errors";
export type { LlamaErrorCode } from "./errors";
export { setLogLevel, setLogger } from "./log";
export type { LogLevel, Logger } from "./log";
export { systemInfo } from "./system";
export type { SystemInfo } from "./system";
