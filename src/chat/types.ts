// Chat: the public types (messages, tools, options, results).
import type {
  GenerationChunk,
  JsonSchema,
  ResponseFormat,
  SequenceGenerationOptions,
  Timings,
  StopReason,
  TokenLogprob,
} from "../generation-types";

export type { JsonSchema, ResponseFormat };

/** A JSON Schema (the subset llama.cpp's json_schema_to_grammar converts; see docs/chat.md). */

export interface ToolCall {
  /** the call's id, as the model gave it or as llama-server would make one */
  id: string;
  name: string;
  /** the arguments, parsed (undefined while streaming an incomplete call, or when they are not JSON) */
  arguments: unknown;
  /** the arguments as the model wrote them */
  rawArguments: string;
}

/**
 * One part of a user message: text, or an image or audio clip as the encoded file's bytes (PNG, JPEG,
 * WAV, MP3... as llama.cpp's mtmd decodes them; the model needs a projector).
 */
export type ContentPart = { type: "text"; text: string } | { type: "image"; data: Uint8Array } | { type: "audio"; data: Uint8Array };

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | ContentPart[] }
  | { role: "assistant"; content?: string | null; reasoning?: string; toolCalls?: ToolCall[] }
  | { role: "tool"; content: string; toolCallId?: string; name?: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** a JSON Schema for the arguments object */
  parameters?: JsonSchema;
}

/** OpenAI's tool shape, accepted wherever a ToolDefinition is. */
export interface OpenAITool {
  type: "function";
  function: ToolDefinition;
}

/** "auto": the model decides; "none": no tool calls; "required": at least one; { name }: that tool (only it is offered, and required). */
export type ToolChoice = "auto" | "none" | "required" | { name: string };

/** How reasoning ("thinking") is separated from the answer: "auto" and "deepseek" extract it into `reasoning`; "none" leaves it in the content. */
export type ReasoningFormat = "auto" | "none" | "deepseek";

export interface ApplyChatTemplateOptions {
  /** Tools the model may call. */
  tools?: readonly (ToolDefinition | OpenAITool)[];
  /** Default "auto". */
  toolChoice?: ToolChoice;
  /** Let the model call several tools in one turn. Default: what the template supports. */
  parallelToolCalls?: boolean;
  /** End the prompt with the start of an assistant turn. Default true. */
  addGenerationPrompt?: boolean;
  /** A Jinja chat template to use instead of the model's own. */
  template?: string;
  /** Extra variables for the template (values are JSON values), as llama-server's chat_template_kwargs. */
  templateKwargs?: Readonly<Record<string, unknown>>;
  /** Ask a thinking model to think (templates that read enable_thinking). Default: the template's default. */
  enableThinking?: boolean;
  /** Constrain the answer to JSON (a grammar made by llama.cpp's json_schema_to_grammar). */
  responseFormat?: ResponseFormat;
  /** Default "auto". */
  reasoningFormat?: ReasoningFormat;
  /** The instant date-printing templates see. Default: now. */
  now?: Date | number;
}

export type GrammarTrigger = { type: "token"; value: string; token: number } | { type: "word" | "pattern" | "patternFull"; value: string };

export interface ChatTemplateResult {
  /** the rendered prompt (what generation is fed, tokenized with special tokens) */
  prompt: string;
  /** the output format llama.cpp chose for this template and request (e.g. "peg-native") */
  format: string;
  /** the GBNF grammar that constrains the output (tool calls, JSON), if any */
  grammar?: string;
  /** the grammar applies only once a trigger appears in the output */
  grammarLazy: boolean;
  grammarTriggers: GrammarTrigger[];
  /** texts that must stay single tokens */
  preservedTokens: string[];
  /** stop strings the template adds */
  stops: string[];
  /** the text the prompt ends with that the model's output continues */
  generationPrompt: string;
  /** whether the template can think (reads enable_thinking) */
  supportsThinking: boolean;
  thinkingStartTag?: string;
  thinkingEndTags: string[];
}

/** A tool a session runs itself when the model calls it. */
export interface SessionTool {
  description?: string;
  parameters?: JsonSchema;
  /** Called with the parsed, schema-checked arguments; its result (JSON-encoded unless a string) goes back to the model. A throw becomes a tool message with the error. */
  // biome-ignore lint/suspicious/noExplicitAny: the arguments match the tool's schema, which TypeScript cannot see
  handler: (args: any, call: ToolCall) => unknown | Promise<unknown>;
}

export interface ChatOptions extends SequenceGenerationOptions, Omit<ApplyChatTemplateOptions, "addGenerationPrompt"> {
  /**
   * At most this many tokens of reasoning (thinking) before the template's end-of-thinking tag is
   * forced, as llama-server's `reasoning_budget_tokens` (llama.cpp's reasoning-budget sampler); 0 ends
   * the reasoning at once; -1 = unlimited (the default). Only templates with thinking tags use it.
   */
  reasoningBudget?: number;
  /** The KV sequence to run in (a Sequence, or an unowned number), as for generate(). */
  sequence?: number | import("../sequence").Sequence;
}

export interface ChatChunk {
  /** new answer text */
  text: string;
  /** new reasoning text */
  reasoning: string;
  /** tool-call deltas: `index` is the call's position; `name`/`id` come once, `arguments` text arrives in pieces */
  toolCalls: { index: number; id?: string; name?: string; arguments: string }[];
  /** the tokens this chunk's text came from */
  tokens: Int32Array;
  /** with `logprobs`: one entry per token of `tokens` */
  logprobs?: TokenLogprob[];
}

export interface AssistantMessage {
  role: "assistant";
  content: string | null;
  reasoning?: string;
  toolCalls?: ToolCall[];
}

export interface ChatResult {
  message: AssistantMessage;
  /** as generate()'s, plus "toolCalls" when the turn ended in tool calls */
  stopReason: StopReason | "toolCalls";
  timings: Timings;
  /** with a JSON responseFormat: the answer, parsed (when it is not JSON, a LlamaError is thrown whose `result` is this turn without `json`) */
  json?: unknown;
  /** the KV sequence the turn ran in */
  sequence: number;
  /** with `logprobs`: one entry per generated token */
  logprobs?: TokenLogprob[];
}

export type { GenerationChunk };
