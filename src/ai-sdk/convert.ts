// Pure mappings between the AI SDK's language model specification (v4, @ai-sdk/provider) and the
// chat API: prompt → messages, call options → ChatOptions (+ warnings), results → content, finish
// reasons and usage. No model is needed here (test/unit/ai-sdk-convert.test.ts covers them).
import type {
  JSONObject,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4Prompt,
  LanguageModelV4ToolResultOutput,
  LanguageModelV4Usage,
  SharedV4Warning,
} from "@ai-sdk/provider";
import type { AssistantMessage, ChatMessage, ChatOptions, ChatResult, ToolCall, ToolChoice, ToolDefinition } from "../chat/types";
import type { StopReason, Timings } from "../generation-types";
import { defineOptions, v } from "../options";
import { describe } from "../validate";

/** The key of this provider in the AI SDK's `providerOptions`. */
export const PROVIDER_KEY = "llama-native";

/**
 * llama-native's own per-call settings: `providerOptions: { "llama-native": { ... } }` on a call, or
 * the defaults given to `languageModel(settings)`. The AI SDK's standard settings (temperature, topP,
 * topK, penalties, seed, stopSequences, maxOutputTokens) are the call's own fields.
 */
export interface LlamaNativeCallSettings {
  /** Drop tokens less likely than minP x the most likely one; 0 = off. Default 0.05. */
  minP?: number;
  /** Locally typical sampling; 1 = off. Default 1. */
  typicalP?: number;
  /** Penalize repeated tokens (> 1 discourages); 1 = off. Default 1. */
  repeatPenalty?: number;
  /** How many recent tokens the penalties look at; -1 = the whole context. Default 64. */
  penaltyLastN?: number;
  /** `{ [token]: bias }` added to the logits (JSON: no -Infinity; use -1e9 to ban a token). */
  logitBias?: Readonly<Record<string, number>>;
  /** Let the model call several tools in one turn. Default: what the template supports. */
  parallelToolCalls?: boolean;
  /** Ask a thinking model to think (templates that read enable_thinking); overrides the call's `reasoning`. */
  enableThinking?: boolean;
  /** Most reasoning tokens before the model is made to answer; -1 = unlimited (default). */
  reasoningBudget?: number;
  /** "auto" (default) and "deepseek" separate reasoning; "none" leaves it in the text. */
  reasoningFormat?: "auto" | "none" | "deepseek";
  /** Extra chat template variables (JSON values), as llama-server's chat_template_kwargs. */
  templateKwargs?: Readonly<Record<string, unknown>>;
}

const jsonObject = (value: unknown, name: string): Record<string, unknown> => {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new TypeError(`${name} must be an object; got ${describe(value)}`);
  return value as Record<string, unknown>;
};

export const parseCallSettings = defineOptions<LlamaNativeCallSettings>(`ai-sdk providerOptions["${PROVIDER_KEY}"]`, {
  minP: v.number(0, 1),
  typicalP: v.number(0, 1),
  repeatPenalty: v.number(0, 1e6),
  penaltyLastN: v.int(-1, 2 ** 24),
  logitBias: (value, name) => {
    const o = jsonObject(value, name);
    for (const [k, b] of Object.entries(o)) {
      if (!/^\d+$/.test(k)) throw new TypeError(`${name}: keys must be token ids; got ${JSON.stringify(k)}`);
      if (typeof b !== "number" || Number.isNaN(b)) throw new TypeError(`${name}[${k}] must be a number; got ${describe(b)}`);
    }
    return o as Record<string, number>;
  },
  parallelToolCalls: v.bool,
  enableThinking: v.bool,
  reasoningBudget: v.int(-1, 2 ** 31 - 1),
  reasoningFormat: v.oneOf(["auto", "none", "deepseek"] as const),
  templateKwargs: jsonObject,
});

/** An AI SDK prompt the chat API cannot take (images, files, custom parts). */
export class UnsupportedPromptError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedPromptError";
  }
}

/** A tool result as the text the chat template receives. */
export function toolOutputText(output: LanguageModelV4ToolResultOutput, where: string): string {
  switch (output.type) {
    case "text":
    case "error-text":
      return output.value;
    case "json":
    case "error-json":
      return JSON.stringify(output.value);
    case "execution-denied":
      return output.reason ? `Tool execution denied: ${output.reason}` : "Tool execution denied.";
    case "content":
      return output.value
        .map((p, i) => {
          if (p.type === "text") return p.text;
          throw new UnsupportedPromptError(`${where}.output.value[${i}]: ${p.type} parts are not supported (text only)`);
        })
        .join("");
    default:
      throw new UnsupportedPromptError(`${where}.output: unknown output type ${describe((output as { type?: unknown }).type)}`);
  }
}

/** The AI SDK prompt as chat messages. Text, reasoning, tool calls and tool results map; files do not. */
export function promptToMessages(prompt: LanguageModelV4Prompt): ChatMessage[] {
  const out: ChatMessage[] = [];
  prompt.forEach((m, i) => {
    const where = `prompt[${i}]`;
    switch (m.role) {
      case "system":
        out.push({ role: "system", content: m.content });
        return;
      case "user": {
        const text = m.content
          .map((p, j) => {
            if (p.type === "text") return p.text;
            throw new UnsupportedPromptError(`${where}.content[${j}]: ${p.type} parts are not supported (this provider takes text only)`);
          })
          .join("");
        out.push({ role: "user", content: text });
        return;
      }
      case "assistant": {
        let content = "";
        let reasoning = "";
        const toolCalls: ToolCall[] = [];
        m.content.forEach((p, j) => {
          switch (p.type) {
            case "text":
              content += p.text;
              return;
            case "reasoning":
              reasoning += p.text;
              return;
            case "tool-call": {
              const raw = typeof p.input === "string" ? p.input : JSON.stringify(p.input ?? {});
              let args: unknown = p.input;
              if (typeof p.input === "string") {
                try {
                  args = JSON.parse(p.input);
                } catch {
                  args = undefined;
                }
              }
              toolCalls.push({ id: p.toolCallId, name: p.toolName, arguments: args, rawArguments: raw });
              return;
            }
            default:
              throw new UnsupportedPromptError(`${where}.content[${j}]: ${p.type} parts are not supported in assistant messages`);
          }
        });
        const msg: ChatMessage = { role: "assistant", content: toolCalls.length && !content ? null : content };
        if (reasoning) msg.reasoning = reasoning;
        if (toolCalls.length) msg.toolCalls = toolCalls;
        out.push(msg);
        return;
      }
      case "tool":
        m.content.forEach((p, j) => {
          // an approval response is the SDK's own bookkeeping: nothing for the model to read
          if (p.type === "tool-approval-response") return;
          out.push({
            role: "tool",
            content: toolOutputText(p.output, `${where}.content[${j}]`),
            toolCallId: p.toolCallId,
            name: p.toolName,
          });
        });
        return;
      default:
        throw new UnsupportedPromptError(`${where}.role: unknown role ${describe((m as { role?: unknown }).role)}`);
    }
  });
  return out;
}

/** The call's tools and tool choice as chat options (provider-defined tools are unsupported: a warning). */
export function mapTools(
  options: Pick<LanguageModelV4CallOptions, "tools" | "toolChoice">,
  warnings: SharedV4Warning[],
): { tools?: ToolDefinition[]; toolChoice?: ToolChoice } {
  const tools: ToolDefinition[] = [];
  for (const t of options.tools ?? []) {
    if (t.type === "function") {
      tools.push({
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        parameters: t.inputSchema as Record<string, unknown>,
      });
    } else {
      warnings.push({ type: "unsupported", feature: `provider-defined tool ${t.id}`, details: "llama-native runs function tools only" });
    }
  }
  if (tools.length === 0) return {};
  const c = options.toolChoice;
  let toolChoice: ToolChoice | undefined;
  if (c?.type === "tool") toolChoice = { name: c.toolName };
  else if (c) toolChoice = c.type;
  return { tools, ...(toolChoice ? { toolChoice } : {}) };
}

/**
 * The chat options of one call: the AI SDK's standard settings, then the model's default settings
 * overlaid by the call's `providerOptions["llama-native"]` (validated strictly). Unsupported settings
 * become warnings, as the specification asks.
 */
export function callToChatOptions(
  options: LanguageModelV4CallOptions,
  defaults: LlamaNativeCallSettings = {},
): { chat: ChatOptions; warnings: SharedV4Warning[] } {
  const warnings: SharedV4Warning[] = [];
  const mine = parseCallSettings(options.providerOptions?.[PROVIDER_KEY] ?? {});
  const s: LlamaNativeCallSettings = { ...defaults };
  for (const [k, x] of Object.entries(mine)) if (x !== undefined) (s as Record<string, unknown>)[k] = x;
  const chat: ChatOptions = {};
  if (options.maxOutputTokens !== undefined) chat.maxTokens = options.maxOutputTokens;
  if (options.temperature !== undefined) chat.temperature = options.temperature;
  if (options.topP !== undefined) chat.topP = options.topP;
  if (options.topK !== undefined) chat.topK = options.topK;
  if (options.presencePenalty !== undefined) chat.presencePenalty = options.presencePenalty;
  if (options.frequencyPenalty !== undefined) chat.frequencyPenalty = options.frequencyPenalty;
  if (options.seed !== undefined) chat.seed = options.seed;
  if (options.stopSequences?.length) chat.stop = options.stopSequences;
  const rf = options.responseFormat;
  if (rf?.type === "json")
    chat.responseFormat = rf.schema
      ? { type: "json_schema", schema: rf.schema as Record<string, unknown>, ...(rf.name ? { name: rf.name } : {}) }
      : { type: "json_object" };
  Object.assign(chat, mapTools(options, warnings));
  const r = options.reasoning;
  if (r !== undefined && r !== "provider-default") {
    chat.enableThinking = r !== "none";
    if (r !== "none")
      warnings.push({
        type: "compatibility",
        feature: `reasoning: "${r}"`,
        details: "effort levels are not distinguished: thinking is enabled (reasoningBudget limits it)",
      });
  }
  // options.headers: the AI SDK always sends some (user-agent); in process there is no HTTP request to carry them
  if (s.minP !== undefined) chat.minP = s.minP;
  if (s.typicalP !== undefined) chat.typicalP = s.typicalP;
  if (s.repeatPenalty !== undefined) chat.repeatPenalty = s.repeatPenalty;
  if (s.penaltyLastN !== undefined) chat.penaltyLastN = s.penaltyLastN;
  if (s.logitBias !== undefined) chat.logitBias = Object.fromEntries(Object.entries(s.logitBias).map(([k, b]) => [Number(k), b]));
  if (s.parallelToolCalls !== undefined) chat.parallelToolCalls = s.parallelToolCalls;
  if (s.enableThinking !== undefined) chat.enableThinking = s.enableThinking;
  if (s.reasoningBudget !== undefined) chat.reasoningBudget = s.reasoningBudget;
  if (s.reasoningFormat !== undefined) chat.reasoningFormat = s.reasoningFormat;
  if (s.templateKwargs !== undefined) chat.templateKwargs = s.templateKwargs;
  return { chat, warnings };
}

/** A chat stop reason as the specification's finish reason (`raw` keeps ours). */
export function finishReason(stop: StopReason | "toolCalls"): LanguageModelV4FinishReason {
  switch (stop) {
    case "toolCalls":
      return { unified: "tool-calls", raw: stop };
    case "eog":
    case "stop":
      return { unified: "stop", raw: stop };
    case "maxTokens":
    case "contextFull":
      return { unified: "length", raw: stop };
    default:
      return { unified: "interrupted", raw: stop };
  }
}

/**
 * Usage in tokens. Prompt tokens reused from the KV cache count as cache reads; `reasoningTokens`
 * are the generated tokens that produced reasoning text (counted by the caller as they streamed).
 */
export function usage(t: Timings, reasoningTokens?: number): LanguageModelV4Usage {
  return {
    inputTokens: { total: t.promptTokens, noCache: t.evaluatedPromptTokens, cacheRead: t.reusedTokens, cacheWrite: undefined },
    outputTokens: {
      total: t.generatedTokens,
      text: reasoningTokens === undefined ? undefined : t.generatedTokens - reasoningTokens,
      reasoning: reasoningTokens,
    },
    raw: { ...t } as unknown as JSONObject,
  };
}

/** The assistant message as the specification's content parts: reasoning, text, tool calls. */
export function messageToContent(m: AssistantMessage): LanguageModelV4Content[] {
  const content: LanguageModelV4Content[] = [];
  if (m.reasoning) content.push({ type: "reasoning", text: m.reasoning });
  if (m.content) content.push({ type: "text", text: m.content });
  for (const c of m.toolCalls ?? []) content.push({ type: "tool-call", toolCallId: c.id, toolName: c.name, input: c.rawArguments });
  return content;
}

/** What the provider reports beyond the specification: our stop reason and timings. */
export function providerMetadata(r: Pick<ChatResult, "stopReason" | "timings">): { [PROVIDER_KEY]: JSONObject } {
  return { [PROVIDER_KEY]: { stopReason: r.stopReason, timings: { ...r.timings } } };
}
