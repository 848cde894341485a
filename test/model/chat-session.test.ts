// Chat on the real model (stories260K with Qwen3's chat template added to its metadata: a metadata
// key changes no weight). Sessions, streaming, tool calls forced by the grammar, and the trim policy.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Context, ContextFullError, type Model, loadModel } from "../../dist/index.mjs";
import { realModelPath, requireRealModel, root, timeScale } from "../helpers";

const modelPath = realModelPath();
const TEMPLATE = path.join(root, "vendor", "llama.cpp", "models", "templates", "Qwen-Qwen3-0.6B.jinja");
// Tool calls forced by the grammar: Command R+'s "required" grammar starts the call at once (with most
// templates llama.cpp lets free text come first, and a story model never opens a call).
const TOOL_TEMPLATE = fs.readFileSync(
  path.join(root, "vendor", "llama.cpp", "models", "templates", "CohereForAI-c4ai-command-r-plus-tool_use.jinja"),
  "utf8",
);
const weather = {
  type: "object",
  properties: { city: { type: "string", maxLength: 10 }, days: { type: "integer", minimum: 1, maximum: 7 } },
  required: ["city", "days"],
  additionalProperties: false,
};

describe.runIf(modelPath || requireRealModel)("chat on stories260K with a chat template", () => {
  let model: Model;
  let ctx: Context;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-chat-"));
    const { withStringMetadata } = await import(path.join(root, "scripts", "make-chat-model.mjs"));
    const file = path.join(dir, "stories260K-qwen3.gguf");
    await withStringMetadata(modelPath!, file, { "tokenizer.chat_template": fs.readFileSync(TEMPLATE, "utf8") });
    model = await loadModel(file);
    ctx = await model.createContext({ contextSize: 8192, sequences: 2 });
  });
  afterAll(async () => {
    await model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the template comes from the metadata", () => {
    expect(model.chatTemplate).toBe(fs.readFileSync(TEMPLATE, "utf8"));
  });

  it("streamed deltas concatenate to the final message", async () => {
    const it = ctx.chat([{ role: "user", content: "Tell me a story." }], { temperature: 0, maxTokens: 40, enableThinking: false });
    let text = "";
    let reasoning = "";
    let r = await it.next();
    while (!r.done) {
      text += r.value.text;
      reasoning += r.value.reasoning;
      r = await it.next();
    }
    expect(text).toBe(r.value.message.content ?? "");
    expect(reasoning).toBe(r.value.message.reasoning ?? "");
    const again = await ctx.chatComplete([{ role: "user", content: "Tell me a story." }], {
      temperature: 0,
      maxTokens: 40,
      enableThinking: false,
    });
    expect(again.message).toEqual(r.value.message);
  });

  it('toolChoice "required": the grammar forces a call whose arguments validate', async () => {
    const validate = new Ajv2020({ strict: false }).compile(weather);
    for (const seed of [1, 2, 3]) {
      const r = await ctx.chatComplete([{ role: "user", content: "What is the weather?" }], {
        tools: [{ name: "get_weather", description: "the forecast", parameters: weather }],
        toolChoice: "required",
        template: TOOL_TEMPLATE,
        temperature: 1,
        seed,
        maxTokens: 200,
      });
      const calls = r.message.toolCalls!;
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls[0]!.name).toBe("get_weather");
      expect(validate(calls[0]!.arguments), calls[0]!.rawArguments).toBe(true);
    }
  });

  it("a session decodes only what is new each turn", async () => {
    const session = ctx.createChatSession({
      system: "You tell stories.",
      options: { temperature: 0, maxTokens: 12, enableThinking: false },
    });
    await session.send("Hello");
    const second = await session.send("Go on");
    expect(second.timings.reusedTokens).toBeGreaterThan(10);
    expect(session.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant"]);
    await session.dispose();
  });

  it("runs tool handlers (a throwing one becomes a tool message) and bounds the rounds", async () => {
    const calls: unknown[] = [];
    const session = ctx.createChatSession({
      tools: {
        get_weather: {
          description: "the forecast",
          parameters: weather,
          handler: (args) => {
            calls.push(args);
            throw new Error("no network");
          },
        },
      },
      maxToolRounds: 2,
      options: { temperature: 0, maxTokens: 200, toolChoice: "required", template: TOOL_TEMPLATE },
    });
    const r = await session.send("Weather?");
    expect(calls.length).toBeGreaterThanOrEqual(1);
    const tools = session.messages.filter((m) => m.role === "tool");
    expect(tools[0]!.content).toBe("error: no network");
    // toolChoice "required" calls again every round, until the bound: the last answer is a call
    expect(r.message.toolCalls?.length).toBeGreaterThan(0);
    // rounds 0..maxToolRounds end in calls; the handlers ran once per call (several calls per round may come)
    const rounds = session.messages.filter((m) => m.role === "assistant" && m.toolCalls?.length).length;
    expect(rounds).toBe(3);
    expect(tools.length).toBe(
      calls.length + session.messages.filter((m) => m.role === "tool" && m.content.startsWith("error: the arguments")).length,
    );
    await session.dispose();
  });

  it(
    "200 turns on a 512-token context: the oldest turns go, the system message stays first",
    async () => {
      const small = await model.createContext({ contextSize: 512 });
      const session = small.createChatSession({
        system: "You are a storyteller.",
        options: { temperature: 0, maxTokens: 16, enableThinking: false },
      });
      for (let i = 0; i < 200; i++) {
        const r = await session.send(`Turn ${i}: tell me more.`);
        expect(["eog", "maxTokens", "stop"]).toContain(r.stopReason);
      }
      const messages = session.messages;
      expect(messages[0]).toEqual({ role: "system", content: "You are a storyteller." });
      expect(messages.at(-2)).toEqual({ role: "user", content: "Turn 199: tell me more." });
      expect(messages.length).toBeLessThan(400);
      await session.dispose();
      await small.dispose();
    },
    300_000 * timeScale,
  );

  it("a single message larger than the context is a ContextFullError", async () => {
    const small = await model.createContext({ contextSize: 128 });
    const session = small.createChatSession();
    await expect(session.send("once upon a time ".repeat(200))).rejects.toBeInstanceOf(ContextFullError);
    await small.dispose();
  });
});
