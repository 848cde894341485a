// The generating endpoints: /v1/chat/completions and /v1/completions, whole or streamed as
// server-sent events in OpenAI's chunk shapes (llama-server's extras: reasoning_content, timings).
import type { ServerResponse } from "node:http";
import { LlamaError } from "../errors";
import type {
  ChatChunk,
  ChatMessage,
  ChatOptions,
  ChatResult,
  GenerationOptions,
  StopReason,
  Timings,
  TokenLogprob,
  TokenProbability,
} from "../index";
import type { Context, Model } from "../index";
import { EventStream, HttpError, responseId, sendJson, toHttpError } from "./http";

type Body = Record<string, unknown>;

/** What the route handlers need from the server. */
export interface ServerState {
  model: Model;
  ctx: Context;
  modelId: string;
  chatTemplate: string | undefined;
  perSequence: number;
}

function finishReason(r: StopReason | "toolCalls"): string | null {
  switch (r) {
    case "toolCalls":
      return "tool_calls";
    case "maxTokens":
    case "contextFull":
      return "length";
    case "abort":
      return null;
    default:
      return "stop";
  }
}

function usage(t: Timings) {
  return { prompt_tokens: t.promptTokens, completion_tokens: t.generatedTokens, total_tokens: t.promptTokens + t.generatedTokens };
}

/** llama-server's timings object (per-token and per-second figures) */
function timings(t: Timings) {
  return {
    cache_n: t.reusedTokens,
    prompt_n: t.evaluatedPromptTokens,
    prompt_ms: t.promptMs,
    prompt_per_second: t.promptMs > 0 ? (t.evaluatedPromptTokens / t.promptMs) * 1000 : 0,
    predicted_n: t.generatedTokens,
    predicted_ms: t.generateMs,
    predicted_per_second: t.generateMs > 0 ? (t.generatedTokens / t.generateMs) * 1000 : 0,
    // with speculative decoding, as llama-server adds them
    ...(t.draftedTokens > 0 ? { draft_n: t.draftedTokens, draft_n_accepted: t.acceptedTokens } : {}),
  };
}

/** The longest prefix of `bytes` that is whole UTF-8 (llama-server's validate_utf8), as text. */
function wholeUtf8(bytes: Uint8Array): string {
  let end = bytes.length;
  // step back over an incomplete sequence at the end
  for (let i = Math.max(0, end - 3); i < end; i++) {
    const b = bytes[i]!;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (b >= 0xc0 && i + need > end) {
      end = i;
      break;
    }
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("utf8");
}

function probJson(t: TokenProbability) {
  return { id: t.token, token: wholeUtf8(t.bytes), bytes: Array.from(t.bytes), logprob: t.logprob };
}

/** llama-server's (and OpenAI's) `logprobs: { content: [...] }` of some tokens; null without logprobs. */
function logprobsJson(lp: readonly TokenLogprob[] | undefined) {
  if (!lp) return null;
  return { content: lp.map((e) => ({ ...probJson(e), top_logprobs: e.top.map(probJson) })) };
}

function streamUsage(body: Body): boolean {
  const so = body.stream_options;
  return so !== null && typeof so === "object" && (so as Body).include_usage === true;
}

function assistantMessage(r: ChatResult) {
  const m = r.message;
  return {
    role: "assistant",
    content: m.content,
    ...(m.reasoning ? { reasoning_content: m.reasoning } : {}),
    ...(m.toolCalls?.length
      ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.rawArguments } })) }
      : {}),
  };
}

/**
 * A failure while preparing a chat request (rendering the template, building its grammar: what the
 * first step of ctx.chat() does before the first token) is the request's: a 400, not a 500. Only
 * LlamaError itself: its subclasses (a full context, an abort) keep their own answers.
 */
export function preparationError(e: unknown): unknown {
  if (e instanceof LlamaError && e.constructor === LlamaError) return new HttpError(400, `the request could not be prepared: ${e.message}`);
  return e;
}

type Turn = AsyncGenerator<ChatChunk, ChatResult, undefined>;

/**
 * The answer to a request aborted while its client is still there: the reason the server gave (a
 * timeout: 408; shutting down: 503). A client that went away aborts with no such reason, and its
 * answer is never read.
 */
function abortError(signal: AbortSignal | undefined): HttpError {
  const reason: unknown = signal?.reason;
  return reason instanceof HttpError ? reason : new HttpError(408, "the request was cancelled");
}

/** The rest of a turn; a JSON answer cut short (max_tokens) is answered as it is, as llama-server does. */
async function rest(it: Turn): Promise<IteratorResult<ChatChunk, ChatResult>> {
  try {
    return await it.next();
  } catch (e) {
    const result = (e as { result?: ChatResult }).result;
    if (e instanceof LlamaError && result) return { done: true, value: result };
    throw e;
  }
}

export async function chatCompletion(
  s: ServerState,
  body: Body,
  messages: ChatMessage[],
  options: ChatOptions,
  res: ServerResponse,
  cors: Record<string, string>,
): Promise<void> {
  const id = responseId("chatcmpl");
  const created = Math.floor(Date.now() / 1000);
  const base = { id, created, model: s.modelId };
  const it = s.ctx.chat(messages, options);
  // the first step renders the template: a bad request fails here, before any event is sent
  let r = await it.next().catch((e) => {
    throw preparationError(e);
  });
  // aborted before its first token (while it waited for a sequence): nothing was sent yet
  if (r.done && r.value.stopReason === "abort") throw abortError(options.signal);
  if (body.stream !== true) {
    while (!r.done) r = await rest(it);
    const result = r.value;
    if (result.stopReason === "abort") throw abortError(options.signal);
    sendJson(
      res,
      200,
      {
        ...base,
        object: "chat.completion",
        choices: [
          {
            index: 0,
            message: assistantMessage(result),
            logprobs: logprobsJson(result.logprobs),
            finish_reason: finishReason(result.stopReason),
          },
        ],
        usage: usage(result.timings),
        timings: timings(result.timings),
      },
      cors,
    );
    return;
  }
  const events = new EventStream(res, cors);
  const chunk = (delta: Body, finish: string | null = null, lp?: TokenLogprob[]) => ({
    ...base,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, ...(lp ? { logprobs: logprobsJson(lp) } : {}), finish_reason: finish }],
  });
  events.send(chunk({ role: "assistant", content: null }));
  try {
    while (!r.done) {
      const c = r.value;
      if (c.reasoning) events.send(chunk({ reasoning_content: c.reasoning }, null, c.text ? undefined : c.logprobs));
      if (c.text) events.send(chunk({ content: c.text }, null, c.logprobs));
      else if (!c.reasoning && c.logprobs?.length) events.send(chunk({}, null, c.logprobs));
      if (c.toolCalls.length) {
        events.send(
          chunk({
            tool_calls: c.toolCalls.map((d) => ({
              index: d.index,
              ...(d.id ? { id: d.id, type: "function" } : {}),
              function: { ...(d.name ? { name: d.name } : {}), arguments: d.arguments },
            })),
          }),
        );
      }
      r = await rest(it);
    }
    const result = r.value;
    if (result.stopReason === "abort") return events.fail(abortError(options.signal));
    events.send({ ...chunk({}, finishReason(result.stopReason)), timings: timings(result.timings) });
    if (streamUsage(body)) events.send({ ...base, object: "chat.completion.chunk", choices: [], usage: usage(result.timings) });
    events.end();
  } catch (e) {
    events.fail(toHttpError(e));
  }
}

export async function completion(
  s: ServerState,
  body: Body,
  prompt: string,
  options: GenerationOptions,
  res: ServerResponse,
  cors: Record<string, string>,
): Promise<void> {
  const id = responseId("cmpl");
  const created = Math.floor(Date.now() / 1000);
  const base = { id, created, model: s.modelId, object: "text_completion" };
  if (body.stream !== true) {
    const r = await s.ctx.complete(prompt, options);
    if (r.stopReason === "abort") throw abortError(options.signal);
    sendJson(
      res,
      200,
      {
        ...base,
        choices: [{ index: 0, text: r.text, logprobs: logprobsJson(r.logprobs), finish_reason: finishReason(r.stopReason) }],
        usage: usage(r.timings),
        timings: timings(r.timings),
      },
      cors,
    );
    return;
  }
  const it = s.ctx.generate(prompt, options);
  let r = await it.next();
  if (r.done && r.value.stopReason === "abort") throw abortError(options.signal);
  const events = new EventStream(res, cors);
  try {
    while (!r.done) {
      if (r.value.text || r.value.logprobs?.length) {
        const lp = logprobsJson(r.value.logprobs);
        events.send({ ...base, choices: [{ index: 0, text: r.value.text, logprobs: lp, finish_reason: null }] });
      }
      r = await it.next();
    }
    const result = r.value;
    if (result.stopReason === "abort") return events.fail(abortError(options.signal));
    events.send({
      ...base,
      choices: [{ index: 0, text: "", logprobs: null, finish_reason: finishReason(result.stopReason) }],
      timings: timings(result.timings),
    });
    if (streamUsage(body)) events.send({ ...base, choices: [], usage: usage(result.timings) });
    events.end();
  } catch (e) {
    events.fail(toHttpError(e));
  }
}
