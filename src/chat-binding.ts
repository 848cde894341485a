// The raw surface of the chat bindings (native/chat_*.cpp: llama.cpp's common/chat pipeline).
// Interfaces only, plus chatBinding() to reach them; src/binding.ts will fold these into
// NativeBinding. JSON crosses the boundary as strings where llama-server takes JSON (requests,
// schemas), so what llama.cpp parses is byte for byte what llama-server would parse.
import { binding, type NativeModel } from "./binding";

/**
 * A request as llama-server's /v1/chat/completions (and /apply-template) takes it: the fields
 * oaicompat_chat_params_parse reads into common_chat_templates_inputs, with its semantics and
 * errors. Fields that llama-server takes from its command line are request fields here.
 */
export interface NativeChatRequest {
  /** OpenAI messages: { role, content (string | null | [{ type: "text", text }]), tool_calls?, tool_call_id?, name?, reasoning_content? } */
  messages: unknown[];
  /** OpenAI tools: [{ type: "function", function: { name, description?, parameters? } }] */
  tools?: unknown[];
  /** "auto" (default) | "none" | "required"; anything else that is not a string is taken as "auto", as llama-server does */
  tool_choice?: string;
  /** default: the template's supports_parallel_tool_calls capability */
  parallel_tool_calls?: boolean;
  /** default true */
  add_generation_prompt?: boolean;
  /** true | "content" | "reasoning_content": continue the last (assistant) message */
  continue_final_message?: boolean | string;
  json_schema?: unknown;
  grammar?: string;
  response_format?:
    | { type: "text" }
    | { type: "json_object"; schema?: unknown }
    | { type: "json_schema"; json_schema: { schema: unknown } };
  /** "none" | "auto" | "deepseek" | "deepseek-legacy" (llama-server's default: deepseek) */
  reasoning_format?: string;
  /** values are JSON values; `enable_thinking: true|false` here also switches thinking, as in llama-server */
  chat_template_kwargs?: Record<string, unknown>;
  /** "none" turns thinking off; other values reach the template as the reasoning_effort kwarg */
  reasoning_effort?: string;
  // ---- llama-server command-line settings, per request here ----
  /** `--reasoning on|off`: sets the template kwarg enable_thinking (a chat_template_kwargs entry still wins). Default: auto (on where the template supports thinking). */
  enable_thinking?: boolean;
  /** `--no-prefill-assistant` when false. Default true: a trailing assistant message is continued. */
  prefill_assistant?: boolean;
  /** the instant the template sees (strftime_now, date_string), ms since the epoch; default: now */
  now?: number;
}

export type NativeGrammarTrigger =
  | { type: "token"; value: string; token: number }
  | { type: "word" | "pattern" | "patternFull"; value: string };

/** common_chat_templates_apply's result (common_chat_params), plus the parser settings llama-server derives from the request. */
export interface NativeChatParams {
  prompt: string;
  /** common_chat_format_name: "Content-only", "peg-simple", "peg-native", "peg-gemma4", "peg-minimax-m3" */
  format: string;
  /** the common_chat_format enum value, for NativeChatParser */
  formatId: number;
  /** GBNF ("" when none): tool-call grammar (lazy) or the json_schema / grammar of the request */
  grammar: string;
  grammarLazy: boolean;
  grammarTriggers: NativeGrammarTrigger[];
  /** texts that must stay single tokens (triggers of type "word" should be among them) */
  preservedTokens: string[];
  /** stop strings the template adds (llama-server appends them to the request's `stop`) */
  additionalStops: string[];
  /** text the template's generation prompt ends with; the parser is run on it + the output */
  generationPrompt: string;
  /** the serialized PEG parser for this format (NativeChatParserOptions.parser) */
  parser: string;
  supportsThinking: boolean;
  thinkingStartTag: string;
  thinkingEndTags: string[];
  messageDelimiters: { role: string; delimiter: string }[];
  /** the request's reasoning_format after defaults ("deepseek" unless the request says otherwise) */
  reasoningFormat: string;
  /** whether the template was asked to think */
  enableThinking: boolean;
  parallelToolCalls: boolean;
  /** tools were given and tool_choice is not "none" */
  parseToolCalls: boolean;
  /** the request asked to continue the last message (continue_final_message) */
  isContinuation: boolean;
  addGenerationPrompt: boolean;
}

export interface NativeChatTemplates {
  /** renders a request on a thread of its own; rejects with the message llama-server would answer */
  apply(requestJson: string): Promise<NativeChatParams>;
  /** common_chat_templates_get_caps: supports_tools, supports_tool_calls, supports_system_role, supports_parallel_tool_calls, ... */
  caps(): Record<string, boolean>;
  /** the template's source (after llama.cpp's textual fixes); "tool_use": the model's tool-use variant, if it has one */
  source(variant?: "tool_use"): string | undefined;
  /** common_chat_templates_support_enable_thinking */
  readonly supportsThinking: boolean;
  /** the model had a template (or one was given); false: llama.cpp's chatml fallback */
  readonly explicit: boolean;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeChatTemplatesOptions {
  /** Jinja source overriding the model's tokenizer.chat_template (required without a model) */
  template?: string;
  /** BOS / EOS text when there is no model (with a model, its vocabulary's are used) */
  bosToken?: string;
  eosToken?: string;
}

export interface NativeChatToolCall {
  name: string;
  /** the arguments as the model wrote them (a JSON text; partial while streaming) */
  arguments: string;
  id: string;
}

export interface NativeChatMessage {
  role: string;
  content: string;
  reasoningContent: string;
  toolCalls: NativeChatToolCall[];
}

/** common_chat_msg_diff: one delta of a streamed message (toolCallIndex -1: not a tool call delta) */
export interface NativeChatDiff {
  reasoningContentDelta: string;
  contentDelta: string;
  toolCallIndex: number;
  toolCallDelta: NativeChatToolCall;
}

export interface NativeChatParserOptions {
  /** NativeChatParams.formatId */
  format: number;
  /** NativeChatParams.parser */
  parser: string;
  generationPrompt: string;
  /** NativeChatParams.reasoningFormat */
  reasoningFormat: string;
  /** deepseek-legacy while streaming (llama-server: stream && reasoning_format == deepseek-legacy) */
  reasoningInContent?: boolean;
  parseToolCalls?: boolean;
  isContinuation?: boolean;
  echo?: boolean;
  /** seeds the generator of tool call ids (default: random, as llama-server) */
  toolCallIdSeed?: number;
}

export interface NativeChatParser {
  /**
   * Parses the whole output so far (partial while generating, final at the end) and returns the
   * message and the deltas since the previous call, as llama-server streams them. Throws when a
   * final output does not match the format.
   */
  update(text: string, isPartial: boolean): { message: NativeChatMessage; diffs: NativeChatDiff[] };
  readonly message: NativeChatMessage;
}

export interface NativeChatBinding {
  ChatTemplates: {
    create(model: NativeModel | null, options?: NativeChatTemplatesOptions): Promise<NativeChatTemplates>;
    prototype: NativeChatTemplates;
  };
  ChatParser: new (options: NativeChatParserOptions) => NativeChatParser;
  /** llama.cpp's json_schema_to_grammar (schema given as JSON text); throws on schemas it refuses */
  jsonSchemaToGrammar(schemaJson: string, forceGbnf?: boolean): string;
}

/** The chat part of the loaded addon. */
export function chatBinding(): NativeChatBinding {
  return binding() as unknown as NativeChatBinding;
}
