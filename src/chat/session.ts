// ChatSession: a conversation that keeps its history and its own KV sequence, runs its tools'
// handlers when the model calls them, and never outgrows its context (oldest turns go first).
import { ContextFullError, DisposedError } from "../errors";
import { defineOptions, v } from "../options";
import type { Sequence } from "../sequence";
import { describe } from "../validate";
import { type ChatHost, chatStream, parseChatOptions, renderChat } from "./chat";
import { checkJson } from "./json-schema";
import type { ChatChunk, ChatMessage, ChatOptions, ChatResult, ContentPart, SessionTool, ToolCall } from "./types";

/** Options of a session's turns: the chat options but tools and sequence (the session owns those). */
export type SessionTurnOptions = Omit<ChatOptions, "tools" | "sequence">;

export interface ChatSessionOptions {
  /** The system message, kept first through every trim. */
  system?: string;
  /** Tools the model may call; the session runs their handlers and gives the results back. */
  tools?: Readonly<Record<string, SessionTool>>;
  /** Most rounds of tool calls in one send() before it returns with stopReason "toolCalls". Default 8. */
  maxToolRounds?: number;
  /** A history to continue (messages of an earlier session; the system message, if any, first). */
  messages?: readonly ChatMessage[];
  /** Defaults for every turn (temperature, maxTokens, ...). */
  options?: SessionTurnOptions;
  /**
   * Tokens kept free for the answer when the history is trimmed to fit the context. Default: the
   * turn's maxTokens, else a quarter of the sequence's context (at most 1024).
   */
  reserve?: number;
}

/** What a session needs from its context besides a chat host. */
export interface SessionHost extends ChatHost {
  getSequence(): Sequence;
  countTokens(prompt: string): number;
  readonly sequenceContextSize: number;
}

export const parseSessionOptions = defineOptions<ChatSessionOptions>("createChatSession options", {
  system: v.string,
  tools: (value, name) => {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new TypeError(`${name} must be an object of tools by name; got ${describe(value)}`);
    for (const [k, t] of Object.entries(value as Record<string, SessionTool>)) {
      if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(k))
        throw new TypeError(`${name}: tool name ${JSON.stringify(k)} must be 1-128 letters, digits or _.:-`);
      if (t === null || typeof t !== "object" || typeof t.handler !== "function")
        throw new TypeError(`${name}.${k}.handler must be a function`);
    }
    return value as Record<string, SessionTool>;
  },
  maxToolRounds: v.int(0, 1000),
  messages: (value, name) => {
    if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of messages; got ${describe(value)}`);
    return value as ChatMessage[];
  },
  options: (value, name) => {
    if (value === null || typeof value !== "object") throw new TypeError(`${name} must be an object; got ${describe(value)}`);
    parseChatOptions(value); // strict, with the chat options' own messages
    return value as SessionTurnOptions;
  },
  reserve: v.int(0, 2 ** 24),
});

function toolContent(result: unknown): string {
  if (typeof result === "string") return result;
  if (result === undefined) return "";
  return JSON.stringify(result);
}

export class ChatSession {
  readonly #host: SessionHost;
  readonly #sequence: Sequence;
  readonly #system: ChatMessage | undefined;
  readonly #tools: Readonly<Record<string, SessionTool>>;
  readonly #maxRounds: number;
  readonly #defaults: SessionTurnOptions;
  readonly #reserve: number | undefined;
  #messages: ChatMessage[];
  #busy: Promise<unknown> = Promise.resolve();
  #disposed = false;

  /** @internal use ctx.createChatSession() */
  constructor(host: SessionHost, options: ChatSessionOptions) {
    const o = parseSessionOptions(options);
    this.#host = host;
    this.#tools = o.tools ?? {};
    this.#maxRounds = o.maxToolRounds ?? 8;
    this.#defaults = o.options ?? {};
    this.#reserve = o.reserve;
    this.#system = o.system !== undefined ? { role: "system", content: o.system } : undefined;
    const given = [...(o.messages ?? [])];
    if (this.#system && given[0]?.role === "system") given.shift();
    this.#messages = this.#system ? [this.#system, ...given] : given;
    this.#sequence = host.getSequence();
  }

  /** The conversation so far (a copy): the system message, then every turn, tool calls and results included. */
  get messages(): ChatMessage[] {
    return this.#messages.map((m) => ({ ...m }));
  }

  /** The KV sequence the session owns (its history stays cached there between turns). */
  get sequence(): Sequence {
    return this.#sequence;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Sends a user message and returns the answer (after any tool rounds). */
  async send(content: string | ContentPart[], options: SessionTurnOptions = {}): Promise<ChatResult> {
    const it = this.stream(content, options);
    let r = await it.next();
    while (!r.done) r = await it.next();
    return r.value;
  }

  /**
   * Sends a user message and streams the answer. Tool rounds run in between: their chunks stream too
   * (a chunk's toolCalls), the handlers run, and the model continues with their results. Turns of one
   * session run one at a time, in call order.
   */
  async *stream(content: string | ContentPart[], options: SessionTurnOptions = {}): AsyncGenerator<ChatChunk, ChatResult, undefined> {
    if (this.#disposed) throw new DisposedError("chat session");
    // content parts (text, image, audio) are checked where every message is (src/chat/convert.ts)
    if (typeof content !== "string" && !Array.isArray(content))
      throw new TypeError(`content must be a string or an array of content parts; got ${describe(content)}`);
    const turn = { ...this.#defaults, ...options };
    parseChatOptions(turn);
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.#busy;
    this.#busy = before.then(() => mine);
    await before;
    try {
      this.#messages.push({ role: "user", content });
      const tools = Object.entries(this.#tools).map(([name, t]) => ({
        name,
        ...(t.description ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
      }));
      for (let round = 0; ; round++) {
        const opts: ChatOptions = { ...turn, ...(tools.length ? { tools } : {}), sequence: this.#sequence };
        const rendered = await this.#fit(opts);
        const result: ChatResult = yield* chatStream(this.#host, this.#messages, opts, rendered);
        this.#messages.push(result.message);
        const calls = result.message.toolCalls ?? [];
        if (calls.length === 0 || tools.length === 0 || round >= this.#maxRounds) return result;
        for (const call of calls)
          this.#messages.push({ role: "tool", content: await this.#runTool(call), toolCallId: call.id, name: call.name });
      }
    } finally {
      release();
    }
  }

  async #runTool(call: ToolCall): Promise<string> {
    const tool = Object.hasOwn(this.#tools, call.name) ? this.#tools[call.name] : undefined;
    if (!tool) return `error: there is no tool named ${JSON.stringify(call.name)}`;
    if (call.arguments === undefined) return `error: the arguments are not valid JSON: ${call.rawArguments}`;
    if (tool.parameters !== undefined) {
      const problems = checkJson(tool.parameters, call.arguments);
      if (problems.length) return `error: invalid arguments: ${problems.slice(0, 5).join("; ")}`;
    }
    try {
      return toolContent(await tool.handler(call.arguments, call));
    } catch (e) {
      return `error: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /**
   * Renders the history; while it does not leave `reserve` tokens of the sequence free, drops the
   * oldest turn after the system message (a user message and everything up to the next one) and
   * renders again. The current turn is never dropped: if it alone does not fit, ContextFullError.
   */
  async #fit(opts: ChatOptions) {
    const limit = this.#host.sequenceContextSize;
    const reserve = this.#reserve ?? opts.maxTokens ?? Math.min(1024, Math.floor(limit / 4));
    const o = parseChatOptions(opts);
    for (;;) {
      const rendered = await renderChat(this.#host, this.#messages, o);
      const n = this.#host.countTokens(rendered.prompt);
      if (n + reserve <= limit) return rendered;
      const first = this.#system ? 1 : 0;
      // the last user message starts the current turn
      let current = this.#messages.length - 1;
      while (current > first && this.#messages[current]!.role !== "user") current--;
      if (current <= first) {
        throw new ContextFullError(
          `the current turn is ${n} tokens with ${reserve} kept for the answer, but a sequence of this context holds ${limit}; ` +
            "create a context with a larger contextSize, or send less",
        );
      }
      // drop the oldest turn: from `first` up to the next user message
      let end = first + 1;
      while (end < current && this.#messages[end]!.role !== "user") end++;
      this.#messages.splice(first, end - first);
    }
  }

  /** Forgets the conversation (the system message stays). */
  reset(): void {
    if (this.#disposed) throw new DisposedError("chat session");
    this.#messages = this.#system ? [this.#system] : [];
  }

  /** Gives the session's sequence back to the context (a running turn ends as aborted). Idempotent. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await this.#sequence.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
