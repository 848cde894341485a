// The AI SDK provider's mappings, without a model: the pure conversions, and the language model
// driven by the `ai` package itself over a scripted context (a stand-in for ctx.chat() that yields
// given chunks and result). test/model/ai-sdk.test.ts runs the same calls on a real model.
import { generateObject, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { LlamaNativeLanguageModel } from "../../dist/ai-sdk/index.mjs";
import { callToChatOptions, finishReason, promptToMessages } from "../../dist/ai-sdk/convert.js";
import { StreamMapper } from "../../dist/ai-sdk/stream.js";
import type { ChatChunk, ChatMessage, ChatOptions, ChatResult } from "../../dist/index.mjs";

const timings = { promptTokens: 10, evaluatedPromptTokens: 7, reusedTokens: 3, promptMs: 1, generatedTokens: 5, generateMs: 2 };
const chunk = (c: Partial<ChatChunk>): ChatChunk => ({ text: "", reasoning: "", toolCalls: [], tokens: new Int32Array(1), ...c });

/** A context whose chat() replays one scripted turn per call and records what it was asked. */
function scripted(turns: { chunks: ChatChunk[]; result: Omit<ChatResult, "timings" | "sequence"> }[]) {
  const calls: { messages: ChatMessage[]; options: ChatOptions }[] = [];
  const ctx = {
    async *chat(messages: ChatMessage[], options: ChatOptions) {
      calls.push({ messages, options });
      const turn = turns[calls.length - 1];
      if (!turn) throw new Error("no scripted turn left");
      for (const c of turn.chunks) {
        if (options.signal?.aborted) return { ...turn.result, stopReason: "abort", timings, sequence: 0 } as ChatResult;
        yield c;
        await new Promise((r) => setImmediate(r));
      }
      return { ...turn.result, timings, sequence: 0 } as ChatResult;
    },
  };
  const model = new LlamaNativeLanguageModel({ modelId: "fake.gguf", chatTemplate: undefined, context: async () => ctx as never }, {});
  return { model, calls };
}

describe("ai-sdk conversions", () => {
  it("maps a prompt with reasoning, tool calls and tool results to chat messages", () => {
    const messages = promptToMessages([
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather " },
          { type: "text", text: "in Paris?" },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "use the tool" },
          { type: "tool-call", toolCallId: "c1", toolName: "weather", input: { city: "Paris" } },
        ],
      },
      {
        role: "tool",
        content: [{ type: "tool-result", toolCallId: "c1", toolName: "weather", output: { type: "json", value: { t: 21 } } }],
      },
    ]);
    expect(messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        reasoning: "use the tool",
        toolCalls: [{ id: "c1", name: "weather", arguments: { city: "Paris" }, rawArguments: '{"city":"Paris"}' }],
      },
      { role: "tool", content: '{"t":21}', toolCallId: "c1", name: "weather" },
    ]);
  });

  it("refuses file parts with a typed error naming the part", () => {
    expect(() =>
      promptToMessages([
        { role: "user", content: [{ type: "file", mediaType: "image/png", data: { type: "data", data: new Uint8Array(1) } }] },
      ] as never),
    ).toThrow(/prompt\[0\]\.content\[0\]: file parts are not supported/);
  });

  it("maps the standard settings, tools and JSON format; provider options are strict", () => {
    const { chat, warnings } = callToChatOptions({
      prompt: [],
      maxOutputTokens: 20,
      temperature: 0,
      topK: 5,
      stopSequences: ["\n"],
      seed: 3,
      responseFormat: { type: "json", schema: { type: "object" } },
      tools: [
        { type: "function", name: "f", description: "d", inputSchema: { type: "object" } },
        { type: "provider", id: "x.search", name: "search", args: {} },
      ],
      toolChoice: { type: "tool", toolName: "f" },
      reasoning: "high",
      providerOptions: { "llama-native": { minP: 0.1, reasoningBudget: 8 }, openai: { anything: 1 } },
    });
    expect(chat).toEqual({
      maxTokens: 20,
      temperature: 0,
      topK: 5,
      stop: ["\n"],
      seed: 3,
      responseFormat: { type: "json_schema", schema: { type: "object" } },
      tools: [{ name: "f", description: "d", parameters: { type: "object" } }],
      toolChoice: { name: "f" },
      enableThinking: true,
      minP: 0.1,
      reasoningBudget: 8,
    });
    expect(warnings.map((w) => w.type)).toEqual(["unsupported", "compatibility"]);
    expect(() => callToChatOptions({ prompt: [], providerOptions: { "llama-native": { minp: 0.1 } } })).toThrow(
      /unknown option "minp" .*did you mean "minP"/,
    );
    expect(() => callToChatOptions({ prompt: [], providerOptions: { "llama-native": { minP: 2 } } })).toThrow(RangeError);
    expect(callToChatOptions({ prompt: [], responseFormat: { type: "json" } }).chat.responseFormat).toEqual({ type: "json_object" });
  });

  it("maps stop reasons to finish reasons", () => {
    expect(["eog", "stop", "maxTokens", "contextFull", "toolCalls", "abort"].map((s) => finishReason(s as never).unified)).toEqual([
      "stop",
      "stop",
      "length",
      "length",
      "tool-calls",
      "interrupted",
    ]);
  });

  it("streams blocks in order, tool calls under one id, then finish", () => {
    let n = 0;
    const m = new StreamMapper(() => `id${n++}`);
    const parts = [
      ...m.chunk(chunk({ reasoning: "hmm", tokens: new Int32Array(2) })),
      ...m.chunk(chunk({ text: "Hi" })),
      ...m.chunk(chunk({ toolCalls: [{ index: 0, name: "f", arguments: '{"a"' }] })),
      ...m.chunk(chunk({ toolCalls: [{ index: 0, arguments: ":1}" }] })),
      ...m.finish({
        message: {
          role: "assistant",
          content: "Hi",
          reasoning: "hmm",
          toolCalls: [{ id: "", name: "f", arguments: { a: 1 }, rawArguments: '{"a":1}' }],
        },
        stopReason: "toolCalls",
        timings,
        sequence: 0,
      }),
    ];
    expect(parts.map((p) => p.type)).toEqual([
      "reasoning-start",
      "reasoning-delta",
      "reasoning-end",
      "text-start",
      "text-delta",
      "text-end",
      "tool-input-start",
      "tool-input-delta",
      "tool-input-delta",
      "tool-input-end",
      "tool-call",
      "finish",
    ]);
    expect(parts[10]).toEqual({ type: "tool-call", toolCallId: "id0", toolName: "f", input: '{"a":1}' });
    const finish = parts[11] as { usage: { outputTokens: { reasoning: number; text: number } }; finishReason: { unified: string } };
    expect(finish.finishReason.unified).toBe("tool-calls");
    expect(finish.usage.outputTokens).toEqual({ total: 5, reasoning: 2, text: 3 });
  });
});

describe("ai-sdk language model through the ai package (scripted context)", () => {
  it("generateText: text, reasoning, usage and finish reason", async () => {
    const { model, calls } = scripted([
      {
        chunks: [chunk({ reasoning: "think" }), chunk({ text: "Hello" }), chunk({ text: " there" })],
        result: { message: { role: "assistant", content: "Hello there", reasoning: "think" }, stopReason: "eog" },
      },
    ]);
    const r = await generateText({ model, system: "sys", prompt: "hi", temperature: 0, maxOutputTokens: 9 });
    expect(r.text).toBe("Hello there");
    expect(r.reasoningText).toBe("think");
    expect(r.finishReason).toBe("stop");
    expect(r.usage.inputTokens).toBe(10);
    expect(r.usage.outputTokens).toBe(5);
    expect(calls[0]!.messages).toEqual([
      { role: "system", content: "sys" },
      { role: "user", content: "hi" },
    ]);
    expect(calls[0]!.options).toMatchObject({ temperature: 0, maxTokens: 9 });
  });

  it("streamText: deltas concatenate to the text", async () => {
    const { model } = scripted([
      {
        chunks: [chunk({ text: "a" }), chunk({ text: "b" }), chunk({ text: "c" })],
        result: { message: { role: "assistant", content: "abc" }, stopReason: "maxTokens" },
      },
    ]);
    const r = streamText({ model, prompt: "x" });
    let text = "";
    for await (const d of r.textStream) text += d;
    expect(text).toBe("abc");
    expect(await r.finishReason).toBe("length");
  });

  it("chunks that carry tokens but no text (a call not yet parsed) do not stall the stream", async () => {
    const { model } = scripted([
      {
        chunks: [chunk({}), chunk({}), chunk({ toolCalls: [{ index: 0, id: "c", name: "f", arguments: "{}" }] }), chunk({})],
        result: {
          message: { role: "assistant", content: null, toolCalls: [{ id: "c", name: "f", arguments: {}, rawArguments: "{}" }] },
          stopReason: "toolCalls",
        },
      },
    ]);
    const r = streamText({ model, prompt: "x", tools: { f: tool({ inputSchema: z.object({}) }) } });
    const types: string[] = [];
    for await (const p of r.fullStream) types.push(p.type);
    expect(types).toContain("tool-call");
    expect(await r.finishReason).toBe("tool-calls");
  });

  it("a tool call round trip: the call runs, its result goes back, the model answers", async () => {
    const { model, calls } = scripted([
      {
        chunks: [chunk({ toolCalls: [{ index: 0, id: "call_1", name: "weather", arguments: '{"city":"Paris"}' }] })],
        result: {
          message: {
            role: "assistant",
            content: null,
            toolCalls: [{ id: "call_1", name: "weather", arguments: { city: "Paris" }, rawArguments: '{"city":"Paris"}' }],
          },
          stopReason: "toolCalls",
        },
      },
      { chunks: [chunk({ text: "Sunny" })], result: { message: { role: "assistant", content: "Sunny" }, stopReason: "eog" } },
    ]);
    const r = await generateText({
      model,
      prompt: "Weather in Paris?",
      tools: {
        weather: tool({
          description: "weather",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, sky: "sunny" }),
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(r.text).toBe("Sunny");
    expect(r.steps[0]!.toolCalls[0]).toMatchObject({ toolCallId: "call_1", toolName: "weather", input: { city: "Paris" } });
    expect(calls[0]!.options.tools).toEqual([
      { name: "weather", description: "weather", parameters: expect.objectContaining({ type: "object" }) },
    ]);
    expect(calls[1]!.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        toolCalls: [{ id: "call_1", name: "weather", arguments: { city: "Paris" }, rawArguments: '{"city":"Paris"}' }],
      },
      { role: "tool", content: '{"city":"Paris","sky":"sunny"}', toolCallId: "call_1", name: "weather" },
    ]);
  });

  it("generateObject asks for the schema's JSON and parses it", async () => {
    const { model, calls } = scripted([
      {
        chunks: [chunk({ text: '{"name":"Ann","age":3}' })],
        result: { message: { role: "assistant", content: '{"name":"Ann","age":3}' }, stopReason: "eog" },
      },
    ]);
    const r = await generateObject({ model, schema: z.object({ name: z.string(), age: z.number() }), prompt: "a person" });
    expect(r.object).toEqual({ name: "Ann", age: 3 });
    expect(calls[0]!.options.responseFormat).toMatchObject({
      type: "json_schema",
      schema: { type: "object", properties: { name: { type: "string" }, age: { type: "number" } } },
    });
    void jsonSchema;
  });

  it("an abort mid-stream: streamText reports it through onAbort, not as an error", async () => {
    const { model, calls } = scripted([
      {
        chunks: [chunk({ text: "a" }), chunk({ text: "b" }), chunk({ text: "c" })],
        result: { message: { role: "assistant", content: "abc" }, stopReason: "eog" },
      },
    ]);
    const ac = new AbortController();
    let aborted = 0;
    let errors = 0;
    const r = streamText({ model, prompt: "x", abortSignal: ac.signal, onAbort: () => void aborted++, onError: () => void errors++ });
    let text = "";
    for await (const d of r.textStream) {
      text += d;
      ac.abort();
    }
    expect(text).toBe("a");
    expect([aborted, errors]).toEqual([1, 0]);
    expect(calls[0]!.options.signal?.aborted).toBe(true);
  });

  it("cancelling the provider's stream aborts the generation", async () => {
    const { model, calls } = scripted([
      {
        chunks: [chunk({ text: "a" }), chunk({ text: "b" })],
        result: { message: { role: "assistant", content: "ab" }, stopReason: "eog" },
      },
    ]);
    const { stream } = await model.doStream({ prompt: [{ role: "user", content: [{ type: "text", text: "x" }] }] });
    const reader = stream.getReader();
    expect((await reader.read()).value).toMatchObject({ type: "stream-start" });
    await reader.cancel();
    expect(calls[0]!.options.signal?.aborted).toBe(true);
  });

  it("an abort signal ends the call with an AbortError", async () => {
    const { model } = scripted([
      {
        chunks: [chunk({ text: "a" }), chunk({ text: "b" })],
        result: { message: { role: "assistant", content: "ab" }, stopReason: "eog" },
      },
    ]);
    const ac = new AbortController();
    ac.abort();
    await expect(generateText({ model, prompt: "x", abortSignal: ac.signal, maxRetries: 0 })).rejects.toThrow(/abort/i);
  });
});
