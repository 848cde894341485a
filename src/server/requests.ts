// Request bodies of the OpenAI-compatible endpoints, checked field by field into the library's own
// options. A known field with a wrong type or value is a 400 naming it; a field the server does not
// know is ignored, as OpenAI-compatible servers (llama-server among them) do (docs/server.md).
import type {
  ChatMessage,
  ChatOptions,
  ContentPart,
  GenerationOptions,
  JsonSchema,
  ResponseFormat,
  ToolCall,
  ToolDefinition,
} from "../index";
import { jsonSchemaToGrammar } from "../index";
import { badField } from "./http";

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body => v !== null && typeof v === "object" && !Array.isArray(v);

function num(body: Body, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw badField(key, `must be a number from ${min} to ${max}`);
  return v;
}

function int(body: Body, key: string, min: number, max: number): number | undefined {
  const v = num(body, key, min, max);
  if (v !== undefined && !Number.isInteger(v)) throw badField(key, "must be an integer");
  return v;
}

function bool(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw badField(key, "must be a boolean");
  return v;
}

function stops(body: Body): string[] | undefined {
  const v = body.stop;
  if (v === undefined || v === null) return undefined;
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) throw badField("stop", "must be a string or an array of strings");
  return list.filter((s) => s.length > 0);
}

/** The sampling fields shared by /v1/chat/completions and /v1/completions (OpenAI's names, llama-server's extras). */
export function samplingFromBody(body: Body, vocabSize: number, maxTokensCap: number): GenerationOptions {
  const o: GenerationOptions = {};
  const set = <K extends keyof GenerationOptions>(k: K, v: GenerationOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set("temperature", num(body, "temperature", 0, 100));
  set("topP", num(body, "top_p", 0, 1));
  set("topK", int(body, "top_k", 0, vocabSize));
  set("minP", num(body, "min_p", 0, 1));
  set("typicalP", num(body, "typical_p", 0, 1));
  set("presencePenalty", num(body, "presence_penalty", -2, 2));
  set("frequencyPenalty", num(body, "frequency_penalty", -2, 2));
  set("repeatPenalty", num(body, "repeat_penalty", 1e-6, 100));
  set("penaltyLastN", int(body, "repeat_last_n", -1, 2 ** 24));
  set("seed", int(body, "seed", -(2 ** 31), 2 ** 32 - 1));
  if (o.seed !== undefined && o.seed < 0) o.seed = o.seed >>> 0;
  const maxTokens =
    int(body, "max_completion_tokens", -1, 2 ** 31 - 1) ??
    int(body, "max_tokens", -1, 2 ** 31 - 1) ??
    int(body, "n_predict", -1, 2 ** 31 - 1);
  // bounded by the context either way: a request cannot ask for more than its sequence holds
  o.maxTokens = maxTokens === undefined || maxTokens < 0 ? maxTokensCap : Math.min(maxTokens, maxTokensCap);
  set("stop", stops(body));
  const bias = body.logit_bias;
  if (bias !== undefined && bias !== null) {
    if (!isObject(bias)) throw badField("logit_bias", "must be an object of token id → bias");
    const pairs: [number, number][] = [];
    for (const [k, b] of Object.entries(bias)) {
      const t = Number(k);
      if (!/^\d+$/.test(k) || t >= vocabSize)
        throw badField("logit_bias", `${JSON.stringify(k)} is not a token id of this model (0 to ${vocabSize - 1})`);
      if (typeof b !== "number" || Number.isNaN(b)) throw badField("logit_bias", `the bias of token ${k} must be a number`);
      pairs.push([t, b]);
    }
    o.logitBias = pairs;
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw badField("n", "only n = 1 is supported");
  // llama-server's extra sampler fields
  set("minKeep", int(body, "min_keep", 0, 2 ** 31 - 1));
  const sigma = num(body, "top_n_sigma", -1e6, 1e6);
  if (sigma !== undefined) o.topNSigma = sigma < 0 ? -1 : sigma;
  const xtcP = num(body, "xtc_probability", 0, 1);
  const xtcT = num(body, "xtc_threshold", 0, 1);
  if (xtcP !== undefined || xtcT !== undefined) o.xtc = { probability: xtcP ?? 0, ...(xtcT !== undefined ? { threshold: xtcT } : {}) };
  const dryM = num(body, "dry_multiplier", 0, 1e6);
  if (dryM !== undefined) {
    const base = num(body, "dry_base", -1e6, 1e6);
    const breakers = body.dry_sequence_breakers;
    if (breakers !== undefined && breakers !== null) {
      if (!Array.isArray(breakers) || breakers.length === 0 || !breakers.every((b) => typeof b === "string"))
        throw badField("dry_sequence_breakers", "must be a non-empty array of strings");
      if (breakers.length > 64) throw badField("dry_sequence_breakers", "at most 64 sequence breakers");
    }
    o.dry = {
      multiplier: dryM,
      // llama-server replaces a base below 1 with its default
      ...(base !== undefined && base >= 1 ? { base } : {}),
      ...optional("allowedLength", int(body, "dry_allowed_length", 0, 2 ** 31 - 1)),
      ...optional("penaltyLastN", int(body, "dry_penalty_last_n", -1, 2 ** 24)),
      ...(Array.isArray(breakers) ? { sequenceBreakers: breakers as string[] } : {}),
    };
  }
  const miro = int(body, "mirostat", 0, 2);
  if (miro !== undefined && miro > 0) {
    o.mirostat = {
      version: miro as 1 | 2,
      ...optional("tau", num(body, "mirostat_tau", 0, 1e6)),
      ...optional("eta", num(body, "mirostat_eta", 0, 1e6)),
    };
  }
  return o;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Log probabilities. Chat (OpenAI): `logprobs: true` with `top_logprobs` (default 20, as llama-server);
 * completions: `logprobs: N` (the N most likely) or `n_probs: N`, as llama-server reads them.
 */
export function logprobsFromBody(body: Body, chat: boolean): Pick<GenerationOptions, "logprobs" | "topLogprobs"> {
  const top = int(body, "top_logprobs", 0, 20);
  if (chat) {
    const on = bool(body, "logprobs");
    if (on === true) return { logprobs: true, topLogprobs: top ?? 20 };
    if (top !== undefined) throw badField("top_logprobs", "top_logprobs requires logprobs to be set to true");
    return {};
  }
  const n = int(body, "n_probs", 0, 100) ?? (typeof body.logprobs === "number" ? int(body, "logprobs", 0, 100) : undefined);
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== "number") {
    throw badField("logprobs", "must be the number of most likely tokens to return with each token");
  }
  return n === undefined || n === 0 ? {} : { logprobs: true, topLogprobs: n };
}

function text(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  if (content === null || content === undefined) return "";
  if (Array.isArray(content)) {
    // text parts joined with newlines, as llama.cpp joins them for templates that take a string
    const parts: string[] = [];
    content.forEach((p, i) => {
      if (!isObject(p) || p.type !== "text" || typeof p.text !== "string")
        throw badField(`${where}.content[${i}]`, 'only { type: "text", text } parts are supported');
      parts.push(p.text);
    });
    return parts.join("\n");
  }
  throw badField(`${where}.content`, "must be a string or an array of text parts");
}

function toolCallsOf(v: unknown, where: string): ToolCall[] {
  if (!Array.isArray(v)) throw badField(`${where}.tool_calls`, "must be an array");
  return v.map((c, i) => {
    const f = isObject(c) && isObject(c.function) ? c.function : undefined;
    if (!f || typeof f.name !== "string")
      throw badField(`${where}.tool_calls[${i}]`, 'must be { type: "function", id, function: { name, arguments } }');
    const raw = typeof f.arguments === "string" ? f.arguments : JSON.stringify(f.arguments ?? {});
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    return { id: typeof (c as Body).id === "string" ? ((c as Body).id as string) : "", name: f.name, arguments: parsed, rawArguments: raw };
  });
}

/** Bytes of a `data:` URL (base64 or percent-encoded); anything else is refused: the server never fetches. */
function dataUrlBytes(url: unknown, where: string): Uint8Array {
  if (typeof url !== "string") throw badField(where, "must be a data: URL string");
  const m = /^data:([^,]*?),(.*)$/s.exec(url);
  if (!m) throw badField(where, "only data: URLs are accepted (data:image/png;base64,...); the server does not fetch URLs");
  const base64 = /;base64$/i.test(m[1]!);
  try {
    return new Uint8Array(base64 ? Buffer.from(m[2]!, "base64") : Buffer.from(decodeURIComponent(m[2]!), "latin1"));
  } catch {
    throw badField(where, "is not a valid data: URL");
  }
}

/**
 * A user message's content: a string, or, when it has image_url or input_audio parts (OpenAI's shapes),
 * the library's content parts, the media decoded from their data: URLs / base64 (llama-server's rules).
 */
function userContent(content: unknown, where: string): string | ContentPart[] {
  if (!Array.isArray(content) || !content.some((p) => isObject(p) && (p.type === "image_url" || p.type === "input_audio"))) {
    return text(content, where);
  }
  return content.map((p, i): ContentPart => {
    const at = `${where}.content[${i}]`;
    if (!isObject(p)) throw badField(at, "must be a content part");
    if (p.type === "text" && typeof p.text === "string") return { type: "text", text: p.text };
    if (p.type === "image_url") {
      const url = isObject(p.image_url) ? p.image_url.url : p.image_url;
      return { type: "image", data: dataUrlBytes(url, `${at}.image_url.url`) };
    }
    if (p.type === "input_audio" && isObject(p.input_audio)) {
      const data = p.input_audio.data ?? p.input_audio.url;
      if (typeof data !== "string") throw badField(`${at}.input_audio.data`, "must be base64 audio (or a data: URL)");
      return {
        type: "audio",
        data: data.startsWith("data:") ? dataUrlBytes(data, `${at}.input_audio.data`) : new Uint8Array(Buffer.from(data, "base64")),
      };
    }
    throw badField(
      at,
      'must be { type: "text", text }, { type: "image_url", image_url: { url } } or { type: "input_audio", input_audio: { data, format } }',
    );
  });
}

/** OpenAI messages → the library's ChatMessage. */
export function messagesFromBody(body: Body): ChatMessage[] {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw badField("messages", "must be a non-empty array of messages");
  return messages.map((m, i): ChatMessage => {
    const where = `messages[${i}]`;
    if (!isObject(m)) throw badField(where, "must be a message object");
    switch (m.role) {
      case "system":
      case "developer":
        return { role: "system", content: text(m.content, where) };
      case "user":
        return { role: "user", content: userContent(m.content, where) };
      case "assistant": {
        const out: Extract<ChatMessage, { role: "assistant" }> = {
          role: "assistant",
          content: m.content === null ? null : text(m.content, where),
        };
        if (typeof m.reasoning_content === "string") out.reasoning = m.reasoning_content;
        if (m.tool_calls !== undefined && m.tool_calls !== null) out.toolCalls = toolCallsOf(m.tool_calls, where);
        return out;
      }
      case "tool":
        return {
          role: "tool",
          content: text(m.content, where),
          ...(typeof m.tool_call_id === "string" ? { toolCallId: m.tool_call_id } : {}),
          ...(typeof m.name === "string" ? { name: m.name } : {}),
        };
      default:
        throw badField(`${where}.role`, 'must be "system", "developer", "user", "assistant" or "tool"');
    }
  });
}

/**
 * Bounds on the JSON schemas of one request (tool parameters and response_format together).
 * llama.cpp's converter (json_schema_to_grammar, run here synchronously and again when the template
 * builds its grammar) takes time cubic in an object's optional properties (2,000 of them: 26 s,
 * 4,000: 174 s on this machine), quadratic in nesting depth (1,000 levels: 2.2 s, a 4 MB grammar) and
 * superlinear in alternatives (`anyOf`, `type` lists: 10,000 took minutes; 64 × 64 nested, 0.7 s).
 * `enum` and `required` lists are linear (40,000 values: 0.35 s). Within these bounds the worst
 * schemas measured convert in about 0.2 s (fuzz/http_fuzz.mjs found each of the slow ones).
 */
export const SCHEMA_LIMITS = { depth: 64, propertiesPerObject: 128, properties: 256, arrayItems: 64, values: 4000 };

/** What a request's schemas have used of SCHEMA_LIMITS so far. */
export type SchemaBudget = { properties: number; values: number };

/** Arrays of plain values, whose conversion is linear: not bounded by arrayItems. */
const VALUE_LISTS = new Set(["enum", "required", "examples"]);

function withinLimits(schema: unknown, param: string, used: SchemaBudget): void {
  const stack: [unknown, number, string][] = [[schema, 0, ""]];
  while (stack.length > 0) {
    const [v, depth, key] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > SCHEMA_LIMITS.depth) throw badField(param, `is nested deeper than ${SCHEMA_LIMITS.depth} levels of objects and arrays`);
    const entries = Object.entries(v);
    if (Array.isArray(v) && !VALUE_LISTS.has(key) && v.length > SCHEMA_LIMITS.arrayItems)
      throw badField(param, `${key || "an array"} has ${v.length} items; the limit is ${SCHEMA_LIMITS.arrayItems}`);
    used.values += entries.length;
    if (used.values > SCHEMA_LIMITS.values)
      throw badField(param, `the request's schemas have more than ${SCHEMA_LIMITS.values} values in all`);
    const props = (v as Body).properties;
    if (!Array.isArray(v) && props !== null && typeof props === "object") {
      const n = Object.keys(props).length;
      used.properties += n;
      if (n > SCHEMA_LIMITS.propertiesPerObject)
        throw badField(param, `an object has ${n} properties; the limit is ${SCHEMA_LIMITS.propertiesPerObject}`);
      if (used.properties > SCHEMA_LIMITS.properties)
        throw badField(param, `the request's schemas have more than ${SCHEMA_LIMITS.properties} properties in all`);
    }
    for (const [k, x] of entries) stack.push([x, depth + 1, Array.isArray(v) ? key : k]);
  }
}

/**
 * A schema of the request (tool parameters, response_format) that llama.cpp's converter rejects is
 * the client's error: a 400 naming the field, found before the template builds its grammar from it.
 */
function convertible(schema: unknown, param: string, used: SchemaBudget): void {
  withinLimits(schema, param, used);
  try {
    jsonSchemaToGrammar(schema as JsonSchema);
  } catch (e) {
    throw badField(param, (e as Error).message);
  }
}

function responseFormatOf(v: unknown, used: SchemaBudget): ResponseFormat | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw badField("response_format", "must be an object");
  if (v.type === "text") return { type: "text" };
  if (v.type === "json_object") {
    if (v.schema === undefined) return { type: "json_object" };
    convertible(v.schema, "response_format.schema", used);
    return { type: "json_object", schema: v.schema as Body };
  }
  if (v.type === "json_schema") {
    const js = v.json_schema;
    if (!isObject(js) || (js.schema !== undefined && !isObject(js.schema) && typeof js.schema !== "boolean")) {
      throw badField("response_format.json_schema", "must be { name, schema }");
    }
    if (js.schema !== undefined) convertible(js.schema, "response_format.json_schema.schema", used);
    return { type: "json_schema", schema: (js.schema as Body | boolean | undefined) ?? {} };
  }
  throw badField("response_format.type", 'must be "text", "json_object" or "json_schema"');
}

/** A /v1/chat/completions body → messages and chat options. */
export function chatFromBody(body: Body, vocabSize: number, maxTokensCap: number): { messages: ChatMessage[]; options: ChatOptions } {
  const messages = messagesFromBody(body);
  const options: ChatOptions = { ...samplingFromBody(body, vocabSize, maxTokensCap), ...logprobsFromBody(body, true) };
  const used: SchemaBudget = { properties: 0, values: 0 };
  if (options.logprobs && body.stream === true && Array.isArray(body.tools) && body.tools.length > 0) {
    throw badField("logprobs", "logprobs is not supported with tools + stream"); // as llama-server
  }
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw badField("tools", "must be an array of tools");
    options.tools = body.tools.map((t, i) => {
      const f = isObject(t) && isObject(t.function) ? t.function : undefined;
      if (!f || typeof f.name !== "string")
        throw badField(`tools[${i}]`, 'must be { type: "function", function: { name, description?, parameters? } }');
      if (f.parameters !== undefined) convertible(f.parameters, `tools[${i}].function.parameters`, used);
      return {
        name: f.name,
        ...(typeof f.description === "string" ? { description: f.description } : {}),
        ...(f.parameters !== undefined ? { parameters: f.parameters as ToolDefinition["parameters"] } : {}),
      };
    });
  }
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null) {
    if (choice === "auto" || choice === "none" || choice === "required") options.toolChoice = choice;
    else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string")
      options.toolChoice = { name: choice.function.name };
    else throw badField("tool_choice", 'must be "auto", "none", "required" or { type: "function", function: { name } }');
  }
  const parallel = bool(body, "parallel_tool_calls");
  if (parallel !== undefined) options.parallelToolCalls = parallel;
  const rf = responseFormatOf(body.response_format, used);
  if (rf) options.responseFormat = rf;
  if (body.chat_template_kwargs !== undefined) {
    if (!isObject(body.chat_template_kwargs)) throw badField("chat_template_kwargs", "must be an object");
    options.templateKwargs = body.chat_template_kwargs;
    if (typeof body.chat_template_kwargs.enable_thinking === "boolean") options.enableThinking = body.chat_template_kwargs.enable_thinking;
  }
  const rfmt = body.reasoning_format;
  if (rfmt !== undefined && rfmt !== null) {
    if (rfmt !== "auto" && rfmt !== "none" && rfmt !== "deepseek")
      throw badField("reasoning_format", 'must be "auto", "none" or "deepseek"');
    options.reasoningFormat = rfmt;
  }
  if (body.reasoning_effort === "none") options.enableThinking = false;
  const budget = int(body, "reasoning_budget_tokens", -1, 2 ** 31 - 1) ?? int(body, "thinking_budget_tokens", -1, 2 ** 31 - 1);
  if (budget !== undefined) options.reasoningBudget = budget;
  return { messages, options };
}

/** A /v1/completions prompt: one string (arrays of one string are accepted). */
export function promptFromBody(body: Body): string {
  const p = body.prompt;
  if (typeof p === "string" && p.length > 0) return p;
  if (Array.isArray(p) && p.length === 1 && typeof p[0] === "string" && p[0].length > 0) return p[0];
  throw badField("prompt", "must be a non-empty string (one prompt per request)");
}

/** A /v1/embeddings input: one string or an array of strings. */
export function embeddingInput(body: Body): { texts: string[]; single: boolean; base64: boolean } {
  const input = body.input;
  const fmt = body.encoding_format;
  if (fmt !== undefined && fmt !== "float" && fmt !== "base64") throw badField("encoding_format", 'must be "float" or "base64"');
  if (typeof input === "string") return { texts: [input], single: true, base64: fmt === "base64" };
  if (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === "string"))
    return { texts: input, single: false, base64: fmt === "base64" };
  throw badField("input", "must be a string or a non-empty array of strings");
}
