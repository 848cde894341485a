// Conversions between the API's chat shapes and the OpenAI JSON llama.cpp's chat pipeline reads
// (the same JSON llama-server passes to common_chat_msgs_parse_oaicompat and
// common_chat_tools_parse_oaicompat, so a conversation renders byte for byte as it would there).
import { MEDIA_MARKER, type MediaInput } from "../projector";
import { describe } from "../validate";
import type { ChatMessage, OpenAITool, ToolCall, ToolChoice, ToolDefinition } from "./types";

type Json = unknown;

/** Checks one message and returns its OpenAI form. */
export function messageToOpenAI(m: unknown, i: number): Json {
  const where = `messages[${i}]`;
  if (m === null || typeof m !== "object" || Array.isArray(m)) throw new TypeError(`${where} must be a message object; got ${describe(m)}`);
  const msg = m as Record<string, unknown>;
  const known = (keys: string[]) => {
    for (const k of Object.keys(msg)) {
      if (!keys.includes(k))
        throw new TypeError(`${where}: unknown key ${JSON.stringify(k)} for a ${String(msg.role)} message (known: ${keys.join(", ")})`);
    }
  };
  const str = (k: string, v: unknown) => {
    if (typeof v !== "string") throw new TypeError(`${where}.${k} must be a string; got ${describe(v)}`);
    return v;
  };
  switch (msg.role) {
    case "system":
    case "user":
      known(["role", "content"]);
      if (msg.role === "user" && Array.isArray(msg.content)) return { role: "user", content: contentPartsToOpenAI(msg.content, where) };
      return { role: msg.role, content: str("content", msg.content) };
    case "assistant": {
      known(["role", "content", "reasoning", "toolCalls"]);
      const out: Record<string, Json> = { role: "assistant" };
      if (msg.content !== undefined) out.content = msg.content === null ? null : str("content", msg.content);
      if (msg.reasoning !== undefined) out.reasoning_content = str("reasoning", msg.reasoning);
      if (msg.toolCalls !== undefined) {
        if (!Array.isArray(msg.toolCalls)) throw new TypeError(`${where}.toolCalls must be an array; got ${describe(msg.toolCalls)}`);
        out.tool_calls = msg.toolCalls.map((c, j) => toolCallToOpenAI(c, `${where}.toolCalls[${j}]`));
      }
      if (out.content === undefined && out.tool_calls === undefined) out.content = "";
      return out;
    }
    case "tool": {
      known(["role", "content", "toolCallId", "name"]);
      const out: Record<string, Json> = { role: "tool", content: str("content", msg.content) };
      if (msg.toolCallId !== undefined) out.tool_call_id = str("toolCallId", msg.toolCallId);
      if (msg.name !== undefined) out.name = str("name", msg.name);
      return out;
    }
    default:
      throw new TypeError(`${where}.role must be "system", "user", "assistant" or "tool"; got ${describe(msg.role)}`);
  }
}

/**
 * A user message's content parts as llama-server hands them to llama.cpp's chat pipeline: text parts,
 * and a "media_marker" part (the marker as its text) where each image or audio clip goes; the
 * template renderer joins them (common/chat.cpp concat_content_parts). The media go to the generation
 * separately, in order (mediaOfMessages).
 */
function contentPartsToOpenAI(parts: unknown[], where: string): Json[] {
  return parts.map((p, j) => {
    const at = `${where}.content[${j}]`;
    if (p === null || typeof p !== "object") throw new TypeError(`${at} must be a content part; got ${describe(p)}`);
    const part = p as Record<string, unknown>;
    const keys = part.type === "text" ? ["type", "text"] : ["type", "data"];
    for (const k of Object.keys(part)) {
      if (!keys.includes(k))
        throw new TypeError(`${at}: unknown key ${JSON.stringify(k)} for a ${String(part.type)} part (known: ${keys.join(", ")})`);
    }
    if (part.type === "text") {
      if (typeof part.text !== "string") throw new TypeError(`${at}.text must be a string; got ${describe(part.text)}`);
      return { type: "text", text: part.text };
    }
    if (part.type === "image" || part.type === "audio") {
      if (!(part.data instanceof Uint8Array))
        throw new TypeError(`${at}.data must be a Uint8Array (the encoded file); got ${describe(part.data)}`);
      return { type: "media_marker", text: MEDIA_MARKER };
    }
    throw new TypeError(`${at}.type must be "text", "image" or "audio"; got ${describe(part.type)}`);
  });
}

/** The image and audio parts of the messages, in the order their markers appear in the rendered prompt. */
export function mediaOfMessages(messages: unknown): MediaInput[] {
  const out: MediaInput[] = [];
  if (!Array.isArray(messages)) return out;
  for (const m of messages) {
    const content = (m as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const p of content as { type?: unknown; data?: unknown }[]) {
      if ((p?.type === "image" || p?.type === "audio") && p.data instanceof Uint8Array) out.push({ type: p.type, data: p.data });
    }
  }
  return out;
}

function toolCallToOpenAI(c: unknown, where: string): Json {
  if (c === null || typeof c !== "object") throw new TypeError(`${where} must be a tool call object; got ${describe(c)}`);
  const call = c as Partial<ToolCall>;
  if (typeof call.name !== "string" || call.name.length === 0) throw new TypeError(`${where}.name must be a non-empty string`);
  // the model's own text when it is JSON (llama.cpp's renderer parses it), else the arguments as
  // JSON: a call cut short (maxTokens) keeps its raw text in the result, but re-renders as {}
  let args = JSON.stringify(call.arguments ?? {});
  if (typeof call.rawArguments === "string") {
    try {
      JSON.parse(call.rawArguments);
      args = call.rawArguments;
    } catch {
      // not JSON: the parsed arguments (or {}) stand in
    }
  }
  return { type: "function", id: typeof call.id === "string" ? call.id : "", function: { name: call.name, arguments: args } };
}

export function messagesToOpenAI(messages: unknown): Json[] {
  if (!Array.isArray(messages)) throw new TypeError(`messages must be an array of messages; got ${describe(messages)}`);
  return messages.map(messageToOpenAI);
}

/** A ToolDefinition or an OpenAI tool, checked, as a ToolDefinition. */
export function normalizeTool(t: unknown, i: number): ToolDefinition {
  const where = `tools[${i}]`;
  if (t === null || typeof t !== "object") throw new TypeError(`${where} must be a tool definition; got ${describe(t)}`);
  const o = t as Partial<OpenAITool> & Partial<ToolDefinition>;
  const def = (o.type === "function" && o.function ? o.function : o) as Partial<ToolDefinition>;
  if (typeof def.name !== "string" || !/^[A-Za-z0-9_.:-]{1,128}$/.test(def.name)) {
    throw new TypeError(`${where}.name must be 1-128 letters, digits or _.:-; got ${describe(def.name)}`);
  }
  if (def.description !== undefined && typeof def.description !== "string") throw new TypeError(`${where}.description must be a string`);
  if (
    def.parameters !== undefined &&
    (def.parameters === null || (typeof def.parameters !== "object" && typeof def.parameters !== "boolean"))
  ) {
    throw new TypeError(`${where}.parameters must be a JSON Schema object`);
  }
  return {
    name: def.name,
    ...(def.description !== undefined ? { description: def.description } : {}),
    ...(def.parameters !== undefined ? { parameters: def.parameters } : {}),
  };
}

export function toolsToOpenAI(tools: readonly ToolDefinition[]): Json[] {
  return tools.map((t) => ({
    type: "function",
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters ?? { type: "object", properties: {} },
    },
  }));
}

/**
 * Our tool choice as llama-server's request field. llama-server takes only the strings; { name } is
 * "required" with that one tool offered (the caller narrows the tool list).
 */
export function toolChoiceToOpenAI(choice: ToolChoice | undefined): string | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === "string") {
    if (choice !== "auto" && choice !== "none" && choice !== "required")
      throw new RangeError(`toolChoice must be "auto", "none", "required" or { name }; got ${describe(choice)}`);
    return choice;
  }
  if (choice === null || typeof choice !== "object" || typeof (choice as { name?: unknown }).name !== "string") {
    throw new TypeError(`toolChoice must be "auto", "none", "required" or { name }; got ${describe(choice)}`);
  }
  return "required";
}

/** A parsed tool call: arguments parsed as JSON when they are complete JSON. */
export function toToolCall(c: { name: string; arguments: string; id: string }): ToolCall {
  let args: unknown;
  try {
    args = c.arguments.length ? JSON.parse(c.arguments) : {};
  } catch {
    args = undefined;
  }
  return { id: c.id, name: c.name, arguments: args, rawArguments: c.arguments };
}

/** A checked ChatMessage from its OpenAI form's fields (for results). */
export function isChatMessage(m: unknown): m is ChatMessage {
  return m !== null && typeof m === "object" && typeof (m as { role?: unknown }).role === "string";
}
