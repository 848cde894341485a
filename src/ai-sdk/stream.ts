// ChatChunks → the specification's stream parts (pure: fed chunks and the final result, it returns
// the parts to enqueue). Reasoning and text arrive as blocks (start, deltas, end); a block ends
// when the other kind begins. Each tool call streams as tool-input-start/delta/end and then one
// tool-call part with its whole input, after the generation ends (the final parse has the ids and
// the complete arguments).
import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import type { ChatChunk, ChatResult } from "../chat/types";
import { finishReason, providerMetadata, usage } from "./convert";

type Part = LanguageModelV4StreamPart;

interface OpenCall {
  id: string;
  name: string;
  ended: boolean;
}

export class StreamMapper {
  #open: "text" | "reasoning" | undefined;
  #blocks = 0;
  #blockId = "";
  #calls = new Map<number, OpenCall>();
  #newId: () => string;
  /** generated tokens that produced reasoning text only */
  reasoningTokens = 0;

  constructor(newId: () => string) {
    this.#newId = newId;
  }

  #switch(kind: "text" | "reasoning" | undefined, out: Part[]): void {
    if (this.#open === kind) return;
    if (this.#open) out.push({ type: `${this.#open}-end`, id: this.#blockId });
    this.#open = kind;
    if (kind) {
      this.#blockId = `${kind}-${this.#blocks++}`;
      out.push({ type: `${kind}-start`, id: this.#blockId });
    }
  }

  /** The parts for one chunk. */
  chunk(c: ChatChunk): Part[] {
    const out: Part[] = [];
    if (c.reasoning && !c.text && c.toolCalls.length === 0) this.reasoningTokens += c.tokens.length;
    if (c.reasoning) {
      this.#switch("reasoning", out);
      out.push({ type: "reasoning-delta", id: this.#blockId, delta: c.reasoning });
    }
    if (c.text) {
      this.#switch("text", out);
      out.push({ type: "text-delta", id: this.#blockId, delta: c.text });
    }
    for (const d of c.toolCalls) {
      let call = this.#calls.get(d.index);
      if (!call) {
        this.#switch(undefined, out);
        call = { id: d.id || this.#newId(), name: d.name ?? "", ended: false };
        this.#calls.set(d.index, call);
        out.push({ type: "tool-input-start", id: call.id, toolName: call.name });
      }
      if (d.arguments) out.push({ type: "tool-input-delta", id: call.id, delta: d.arguments });
    }
    return out;
  }

  /**
   * The closing parts: open blocks end, each tool call gets its tool-call part (with the id it
   * streamed under), then the finish part.
   */
  finish(r: ChatResult): Part[] {
    const out: Part[] = [];
    this.#switch(undefined, out);
    const calls = r.message.toolCalls ?? [];
    calls.forEach((c, i) => {
      let open = this.#calls.get(i);
      if (!open) {
        open = { id: c.id || this.#newId(), name: c.name, ended: false };
        this.#calls.set(i, open);
        out.push({ type: "tool-input-start", id: open.id, toolName: c.name });
        out.push({ type: "tool-input-delta", id: open.id, delta: c.rawArguments });
      }
      out.push({ type: "tool-input-end", id: open.id });
      open.ended = true;
      out.push({ type: "tool-call", toolCallId: open.id, toolName: c.name, input: c.rawArguments });
    });
    // calls that streamed but did not survive the final parse (cut short): close their inputs
    for (const open of this.#calls.values()) if (!open.ended) out.push({ type: "tool-input-end", id: open.id });
    out.push({
      type: "finish",
      finishReason: finishReason(r.stopReason),
      usage: usage(r.timings, this.reasoningTokens),
      providerMetadata: providerMetadata(r),
    });
    return out;
  }

  /** The id each tool call streamed under, by index (doGenerate uses the same ids). */
  callId(index: number): string | undefined {
    return this.#calls.get(index)?.id;
  }
}
