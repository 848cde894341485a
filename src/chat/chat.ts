// ctx.chat() / ctx.chatComplete(): a conversation turn through llama.cpp's chat pipeline. The
// template renders the messages (as llama-server would), the generation runs with the template's
// grammar, triggers, stop strings and preserved tokens, and llama.cpp's parser for the template's
// format turns the output into content, reasoning and tool calls while it streams.
import { chatBinding, type NativeChatParams, type NativeChatParser, type NativeChatTemplates } from "../chat-binding";
import type { GenerationChunk, GenerationResult } from "../generation-types";
import { defineOptions, v } from "../options";
import type { GenerationOptions } from "../sampling";
import { GENERATION_OPTION_VALIDATORS } from "../sampling";
import { LlamaError } from "../errors";
import { mediaOfMessages, toToolCall } from "./convert";
import { parseJsonAnswer } from "./json-schema";
import { TEMPLATE_OPTION_VALIDATORS, toNativeRequest } from "./templates";
import type { AssistantMessage, ChatChunk, ChatMessage, ChatOptions, ChatResult, ToolCall, ToolDefinition } from "./types";

/** What a chat turn needs from its context (src/context.ts implements it). */
export interface ChatHost {
  templates(template?: string): Promise<NativeChatTemplates>;
  /** generate() with the chat's sampling settings (llama-server's per-request chat fields, as JSON) */
  generateChat(
    prompt: string,
    options: GenerationOptions,
    chatSampling: string,
  ): AsyncGenerator<GenerationChunk, GenerationResult, undefined>;
}

export const parseChatOptions = defineOptions<ChatOptions>("chat options", {
  ...GENERATION_OPTION_VALIDATORS,
  ...TEMPLATE_OPTION_VALIDATORS,
  reasoningBudget: v.int(-1, 2 ** 31 - 1),
  sequence: v.any<NonNullable<ChatOptions["sequence"]>>(),
});

/** The share of a streamed turn's time that partial parses may take (see chatStream). */
const PARSE_SHARE = 0.004;

/** The sampling fields oaicompat_chat_params_parse adds to a request for llama-server's sampler. */
function chatSampling(p: NativeChatParams, reasoningBudget: number | undefined): string {
  const out: Record<string, unknown> = {
    grammar_lazy: p.grammarLazy,
    grammar_triggers: p.grammarTriggers.map((t) =>
      t.type === "token" ? { type: "token", value: t.value, token: t.token } : { type: t.type, value: t.value },
    ),
    preserved_tokens: p.preservedTokens,
    generation_prompt: p.generationPrompt,
  };
  if (p.thinkingEndTags.length > 0) {
    out.reasoning_budget_tokens = reasoningBudget ?? -1;
    out.reasoning_budget_start_tag = p.thinkingStartTag;
    out.reasoning_budget_end_tags = p.thinkingEndTags;
  }
  return JSON.stringify(out);
}

function emptyChunk(tokens: Int32Array): ChatChunk {
  return { text: "", reasoning: "", toolCalls: [], tokens };
}

/** Folds the parser's diffs into one chunk. */
function applyDiffs(chunk: ChatChunk, diffs: ReturnType<NativeChatParser["update"]>["diffs"]): ChatChunk {
  for (const d of diffs) {
    chunk.text += d.contentDelta;
    chunk.reasoning += d.reasoningContentDelta;
    if (d.toolCallIndex >= 0) {
      const c = d.toolCallDelta;
      chunk.toolCalls.push({
        index: d.toolCallIndex,
        ...(c.id ? { id: c.id } : {}),
        ...(c.name ? { name: c.name } : {}),
        arguments: c.arguments,
      });
    }
  }
  return chunk;
}

/** The rendered request: what the template made of the messages and options. */
export async function renderChat(
  host: ChatHost,
  messages: readonly ChatMessage[],
  o: ReturnType<typeof parseChatOptions>,
): Promise<NativeChatParams> {
  const templates = await host.templates(o.template);
  const request = toNativeRequest(messages, { ...o, tools: o.tools as ToolDefinition[] | undefined });
  return templates.apply(JSON.stringify(request));
}

export async function* chatStream(
  host: ChatHost,
  messages: readonly ChatMessage[],
  options: ChatOptions,
  rendered?: NativeChatParams,
): AsyncGenerator<ChatChunk, ChatResult, undefined> {
  const o = parseChatOptions(options);
  if (o.grammar !== undefined && o.tools?.length && o.toolChoice !== "none") {
    throw new TypeError(
      "grammar cannot be combined with tools (the tool-call grammar constrains the output); use responseFormat or drop the tools",
    );
  }
  const p = rendered ?? (await renderChat(host, messages, o));
  const {
    tools: _t,
    toolChoice: _c,
    parallelToolCalls: _p,
    template: _tpl,
    templateKwargs: _k,
    enableThinking: _e,
    responseFormat: _r,
    reasoningFormat: _f,
    now: _n,
    reasoningBudget,
    ...gen
  } = o;
  const generation: GenerationOptions = Object.fromEntries(Object.entries(gen).filter(([, x]) => x !== undefined));
  // image and audio parts: their markers are in the rendered prompt, in message order
  const media = mediaOfMessages(messages);
  if (media.length) generation.media = media;
  // llama-server: the template's grammar (tools, json_schema) unless the request gave one; its stops are added
  if (p.grammar) generation.grammar = p.grammar;
  generation.stop = [...(o.stop ?? []), ...p.additionalStops];
  const parser = new (chatBinding().ChatParser)({
    format: p.formatId,
    parser: p.parser,
    generationPrompt: p.generationPrompt,
    reasoningFormat: p.reasoningFormat,
    parseToolCalls: p.parseToolCalls,
    isContinuation: p.isContinuation,
  });
  let text = "";
  const it = host.generateChat(p.prompt, generation, chatSampling(p, reasoningBudget));
  // The parser reads the whole output again at each update (as llama-server's does per token). On a
  // fast model that cost 7.5 % of a turn's tokens/s (bench/chat.mjs, bench-134m Q4_0, 2 cores: JS
  // time also preempts ggml's threads), so partial parses are spent from a budget: at most
  // PARSE_SHARE of the time since the first chunk (1.1 % of tokens/s measured). A slow model still
  // gets about one parse per chunk; a fast one gets its deltas grouped. The final parse below always
  // runs, so the message is the same either way.
  const started = performance.now();
  let parseMs = 0;
  let r = await it.next();
  while (!r.done) {
    text += r.value.text;
    let diffs: ReturnType<NativeChatParser["update"]>["diffs"] = [];
    if (r.value.text && parseMs <= PARSE_SHARE * (performance.now() - started)) {
      const t = performance.now();
      try {
        diffs = parser.update(text, true).diffs;
      } catch {
        // a partial output the parser cannot read yet: the next chunk may complete it
      }
      parseMs += performance.now() - t;
    }
    const chunk = applyDiffs(emptyChunk(r.value.tokens), diffs);
    if (r.value.logprobs) chunk.logprobs = r.value.logprobs;
    if (chunk.text || chunk.reasoning || chunk.toolCalls.length || chunk.tokens.length) yield chunk;
    r = await it.next();
  }
  // llama-server parses the whole output once more as final (not partial). An output cut short
  // (maxTokens, a full context, an abort) may not parse as final: it is then read as partial.
  let final: ReturnType<NativeChatParser["update"]>;
  try {
    final = parser.update(text, false);
  } catch (e) {
    const cut = r.value.stopReason !== "eog" && r.value.stopReason !== "stop";
    if (!cut) throw new LlamaError(`the model's output does not parse as the template's format (${p.format}): ${(e as Error).message}`);
    final = parser.update(text, true);
  }
  const last = applyDiffs(emptyChunk(new Int32Array(0)), final.diffs);
  if (last.text || last.reasoning || last.toolCalls.length) yield last;
  const m = final.message;
  const toolCalls: ToolCall[] = m.toolCalls.map(toToolCall);
  const message: AssistantMessage = {
    role: "assistant",
    content: m.content.length || toolCalls.length === 0 ? m.content : null,
    ...(m.reasoningContent ? { reasoning: m.reasoningContent } : {}),
    ...(toolCalls.length ? { toolCalls } : {}),
  };
  const stopReason = toolCalls.length && (r.value.stopReason === "eog" || r.value.stopReason === "stop") ? "toolCalls" : r.value.stopReason;
  const result: ChatResult = { message, stopReason, timings: r.value.timings, sequence: r.value.sequence };
  if (r.value.logprobs) result.logprobs = r.value.logprobs;
  if (o.responseFormat && o.responseFormat.type !== "text" && stopReason !== "abort") {
    try {
      result.json = parseJsonAnswer(m.content, stopReason);
    } catch (e) {
      // the turn itself is kept on the error (the server answers a cut-off JSON turn as llama-server does)
      throw Object.assign(e as LlamaError, { result });
    }
  }
  return result;
}

export async function chatComplete(host: ChatHost, messages: readonly ChatMessage[], options: ChatOptions): Promise<ChatResult> {
  const it = chatStream(host, messages, options);
  let r = await it.next();
  while (!r.done) r = await it.next();
  return r.value;
}
