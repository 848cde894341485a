// The AI SDK language model (specification v4): doGenerate and doStream over ctx.chat().
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
} from "@ai-sdk/provider";
import { randomUUID } from "node:crypto";
import type { ChatChunk, ChatMessage, ChatOptions, ChatResult } from "../chat/types";
import type { Context } from "../context";
import { AbortError } from "../errors";
import {
  type LlamaNativeCallSettings,
  callToChatOptions,
  finishReason,
  messageToContent,
  promptToMessages,
  providerMetadata,
  usage,
} from "./convert";
import { StreamMapper } from "./stream";

/** What a language model needs from its provider. */
export interface LanguageModelHost {
  readonly modelId: string;
  /** A Jinja template overriding the model's own. */
  readonly chatTemplate: string | undefined;
  /** The provider's generation context (made on first use). */
  context(): Promise<Context>;
}

const newId = () => `call_${randomUUID().replace(/-/g, "").slice(0, 24)}`;

function abortError(signal: AbortSignal | undefined): AbortError {
  return new AbortError("the generation was aborted", { cause: signal?.reason });
}

/**
 * An AbortSignal that fires when the caller's does or when `abort()` is called; `unlink()` drops the
 * listener on the caller's signal (which may outlive many calls).
 */
function linkedAbort(outer: AbortSignal | undefined): { signal: AbortSignal; abort: () => void; unlink: () => void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  return { signal: ac.signal, abort: () => ac.abort(), unlink: () => outer?.removeEventListener("abort", onAbort) };
}

/** What a call's request body reports: the messages and options, without the signal and the template text. */
function requestBody(messages: ChatMessage[], chat: ChatOptions) {
  const { signal: _s, template: _t, ...options } = chat;
  return { messages, options };
}

export class LlamaNativeLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = "v4" as const;
  readonly provider = "llama-native";
  readonly modelId: string;
  /** No URLs: files and images are not supported (text only). */
  readonly supportedUrls: Record<string, RegExp[]> = {};
  readonly #host: LanguageModelHost;
  readonly #settings: LlamaNativeCallSettings;

  /** @internal use the provider's languageModel() */
  constructor(host: LanguageModelHost, settings: LlamaNativeCallSettings) {
    this.#host = host;
    this.#settings = settings;
    this.modelId = host.modelId;
  }

  #prepare(options: LanguageModelV4CallOptions): {
    messages: ChatMessage[];
    chat: ChatOptions;
    warnings: ReturnType<typeof callToChatOptions>["warnings"];
  } {
    const messages = promptToMessages(options.prompt);
    const { chat, warnings } = callToChatOptions(options, this.#settings);
    if (this.#host.chatTemplate) chat.template = this.#host.chatTemplate;
    return { messages, chat, warnings };
  }

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    const { messages, chat, warnings } = this.#prepare(options);
    const signal = options.abortSignal;
    if (signal?.aborted) throw abortError(signal);
    const ctx = await this.#host.context();
    const timestamp = new Date();
    const mapper = new StreamMapper(newId);
    const it = ctx.chat(messages, { ...chat, ...(signal ? { signal } : {}) });
    let r = await it.next();
    while (!r.done) {
      mapper.chunk(r.value);
      r = await it.next();
    }
    const result = r.value;
    if (result.stopReason === "abort") throw abortError(signal);
    const content = messageToContent(withCallIds(result, mapper));
    return {
      content,
      finishReason: finishReason(result.stopReason),
      usage: usage(result.timings, mapper.reasoningTokens),
      providerMetadata: providerMetadata(result),
      request: { body: requestBody(messages, chat) },
      response: { id: newId().replace("call_", "gen_"), timestamp, modelId: this.modelId },
      warnings,
    };
  }

  async doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    const { messages, chat, warnings } = this.#prepare(options);
    const signal = options.abortSignal;
    if (signal?.aborted) throw abortError(signal);
    const ctx = await this.#host.context();
    const timestamp = new Date();
    // the consumer cancelling the stream aborts the generation too
    const link = linkedAbort(signal);
    const it = ctx.chat(messages, { ...chat, signal: link.signal });
    // the first step renders the template and decodes the prompt: a bad request rejects here
    let first: IteratorResult<ChatChunk, ChatResult>;
    try {
      first = await it.next();
    } catch (e) {
      link.unlink();
      throw e;
    }
    const mapper = new StreamMapper(newId);
    const raw = options.includeRawChunks === true;
    let pending: IteratorResult<ChatChunk, ChatResult> | undefined = first;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start: (controller) => {
        controller.enqueue({ type: "stream-start", warnings });
        controller.enqueue({ type: "response-metadata", id: newId().replace("call_", "gen_"), timestamp, modelId: this.modelId });
      },
      pull: async (controller) => {
        try {
          // a pull must enqueue something (or end the stream): a pull that enqueues nothing is not
          // called again, and the reader waits for ever. Chunks whose tokens made no visible text
          // (the start of a tool call the parser cannot place yet) give no parts: read on.
          let r: IteratorResult<ChatChunk, ChatResult>;
          for (;;) {
            r = pending ?? (await it.next());
            pending = undefined;
            if (r.done) break;
            const parts = mapper.chunk(r.value);
            if (raw) parts.unshift({ type: "raw", rawValue: { ...r.value, tokens: Array.from(r.value.tokens) } });
            if (parts.length === 0) continue;
            for (const part of parts) controller.enqueue(part);
            return;
          }
          link.unlink();
          if (r.value.stopReason === "abort") {
            // the caller's signal: an AbortError, as fetch gives (streamText reports it as an abort)
            if (signal?.aborted) controller.error(abortError(signal));
            else controller.close();
            return;
          }
          for (const part of mapper.finish(r.value)) controller.enqueue(part);
          controller.close();
        } catch (e) {
          link.unlink();
          controller.error(e);
        }
      },
      cancel: async () => {
        link.abort();
        link.unlink();
        await it.return(undefined as never).catch(() => {});
      },
    });
    return { stream, request: { body: requestBody(messages, chat) } };
  }
}

/** The result's tool calls under the ids they streamed with (and never an empty id). */
function withCallIds(r: ChatResult, mapper: StreamMapper): ChatResult["message"] {
  const calls = r.message.toolCalls;
  if (!calls?.length) return r.message;
  return { ...r.message, toolCalls: calls.map((c, i) => ({ ...c, id: mapper.callId(i) ?? (c.id || newId()) })) };
}
