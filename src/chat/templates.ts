// A model's chat templates (llama.cpp's common_chat_templates), made once per model and template
// source, and applyChatTemplate(): what llama-server renders for the same messages and options.
import type { NativeChatParams, NativeChatRequest, NativeChatTemplates } from "../chat-binding";
import { chatBinding } from "../chat-binding";
import type { NativeModel } from "../native-types";
import { defineOptions, v } from "../options";
import { describe } from "../validate";
import { checkResponseFormat } from "./json-schema";
import { messagesToOpenAI, normalizeTool, toolChoiceToOpenAI, toolsToOpenAI } from "./convert";
import type { ApplyChatTemplateOptions, ChatTemplateResult, ReasoningFormat, ToolChoice, ToolDefinition } from "./types";

const REASONING_FORMATS: readonly ReasoningFormat[] = ["auto", "none", "deepseek"];

const jsonValue = (value: unknown, name: string) => {
  try {
    JSON.stringify(value);
  } catch {
    throw new TypeError(`${name} must be JSON-serializable`);
  }
  return value;
};

/** The template options shared by applyChatTemplate and chat (each key validated). */
export const TEMPLATE_OPTION_VALIDATORS = {
  tools: (value: unknown, name: string) => {
    if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of tool definitions; got ${describe(value)}`);
    return value.map(normalizeTool);
  },
  toolChoice: (value: unknown) => {
    toolChoiceToOpenAI(value as ToolChoice);
    return value as ToolChoice;
  },
  parallelToolCalls: v.bool,
  template: (value: unknown, name: string) => {
    if (typeof value !== "string" || value.length === 0)
      throw new TypeError(`${name} must be a non-empty Jinja template string; got ${describe(value)}`);
    return value;
  },
  templateKwargs: (value: unknown, name: string) => {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new TypeError(`${name} must be an object; got ${describe(value)}`);
    return jsonValue(value, name) as Record<string, unknown>;
  },
  enableThinking: v.bool,
  responseFormat: (value: unknown, name: string) => checkResponseFormat(value, name),
  reasoningFormat: v.oneOf(REASONING_FORMATS),
  now: (value: unknown, name: string) => {
    const t = value instanceof Date ? value.getTime() : value;
    if (typeof t !== "number" || !Number.isFinite(t))
      throw new TypeError(`${name} must be a Date or milliseconds since the epoch; got ${describe(value)}`);
    return value as Date | number;
  },
};

export const parseApplyOptions = defineOptions<ApplyChatTemplateOptions>("applyChatTemplate options", {
  ...TEMPLATE_OPTION_VALIDATORS,
  addGenerationPrompt: v.bool,
});

type TemplateOptions = Omit<ApplyChatTemplateOptions, "tools"> & { tools?: ToolDefinition[] };

/** The request llama-server would build from these messages and options (oaicompat_chat_params_parse's fields). */
export function toNativeRequest(messages: unknown, o: TemplateOptions): NativeChatRequest {
  let tools = o.tools;
  const choice = o.toolChoice;
  if (choice !== undefined && typeof choice === "object") {
    // a named tool: only it is offered, and a call is required
    tools = (tools ?? []).filter((t) => t.name === choice.name);
    if (tools.length === 0) throw new RangeError(`toolChoice names ${JSON.stringify(choice.name)}, which is not among the tools`);
  }
  const req: NativeChatRequest = { messages: messagesToOpenAI(messages) };
  if (tools?.length) req.tools = toolsToOpenAI(tools);
  const tc = toolChoiceToOpenAI(choice);
  if (tc !== undefined) req.tool_choice = tc;
  if (o.parallelToolCalls !== undefined) req.parallel_tool_calls = o.parallelToolCalls;
  if (o.addGenerationPrompt !== undefined) req.add_generation_prompt = o.addGenerationPrompt;
  if (o.templateKwargs) req.chat_template_kwargs = { ...o.templateKwargs };
  if (o.enableThinking !== undefined) req.enable_thinking = o.enableThinking;
  if (o.reasoningFormat !== undefined) req.reasoning_format = o.reasoningFormat;
  const rf = o.responseFormat;
  if (rf?.type === "json_object")
    req.response_format = rf.schema === undefined ? { type: "json_object" } : { type: "json_object", schema: rf.schema };
  else if (rf?.type === "json_schema") req.response_format = { type: "json_schema", json_schema: { schema: rf.schema } };
  if (o.now !== undefined) req.now = o.now instanceof Date ? o.now.getTime() : o.now;
  return req;
}

export function toTemplateResult(p: NativeChatParams): ChatTemplateResult {
  return {
    prompt: p.prompt,
    format: p.format,
    ...(p.grammar ? { grammar: p.grammar } : {}),
    grammarLazy: p.grammarLazy,
    grammarTriggers: p.grammarTriggers,
    preservedTokens: p.preservedTokens,
    stops: p.additionalStops,
    generationPrompt: p.generationPrompt,
    supportsThinking: p.supportsThinking,
    ...(p.thinkingStartTag ? { thinkingStartTag: p.thinkingStartTag } : {}),
    thinkingEndTags: p.thinkingEndTags,
  };
}

/** One model's parsed templates, by template source ("" = the model's own), made on first use. */
export class TemplateCache {
  #native: () => NativeModel;
  #byTemplate = new Map<string, Promise<NativeChatTemplates>>();

  constructor(native: () => NativeModel) {
    this.#native = native;
  }

  get(template = ""): Promise<NativeChatTemplates> {
    let p = this.#byTemplate.get(template);
    if (!p) {
      p = chatBinding().ChatTemplates.create(this.#native(), template ? { template } : {});
      // a failed parse is not kept: the next call tries again (and fails the same way)
      p.catch(() => this.#byTemplate.delete(template));
      this.#byTemplate.set(template, p);
    }
    return p;
  }

  async dispose(): Promise<void> {
    const all = [...this.#byTemplate.values()];
    this.#byTemplate.clear();
    for (const p of all) {
      try {
        (await p).dispose();
      } catch {
        // a template that never parsed holds nothing
      }
    }
  }
}
