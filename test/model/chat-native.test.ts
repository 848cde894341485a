// Oracle: llama.cpp's own chat pipeline, as llama-server runs it (scripts/chat-oracle/main.cpp calls
// its oaicompat_chat_params_parse and task_result_state). test/fixtures/oracles/chat-templates.json
// holds, for every template in vendor/llama.cpp/models/templates/, what it rendered for a set of
// requests and what it parsed from a set of assistant outputs, with the command that recorded it
// (scripts/record-chat-oracles.mjs). The native ChatTemplates / ChatParser must agree byte for byte.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import "../../dist/index.mjs";
import { chatBinding, type NativeChatMessage, type NativeChatParams, type NativeChatTemplates } from "../../dist/chat-binding.js";
import { realModelPath, root, timeScale } from "../helpers";

interface OracleParams {
  prompt: string;
  chat_format: number;
  grammar?: { sha256: string; length: number };
  grammar_lazy: boolean;
  grammar_triggers: { type: number; value: string; token?: number }[];
  preserved_tokens: string[];
  generation_prompt: string;
  stop: string[];
  chat_parser?: { sha256: string; length: number };
  parse_tool_calls?: boolean;
}
interface OracleMessage {
  content?: string | null;
  reasoning_content?: string;
  tool_calls?: { function: { name: string; arguments: string } }[];
}
interface OracleCase {
  name: string;
  error?: string;
  params?: OracleParams;
  parses?: { message?: OracleMessage; error?: string }[];
}
interface Oracle {
  recordedWith: { command: string; llamaCppCommit: string };
  now: number;
  bos: string;
  eos: string;
  requests: Record<string, Record<string, unknown>>;
  outputs: { text: string; partial: boolean }[];
  templates: { file: string; cases: OracleCase[] }[];
}

const fixture = path.join(root, "test", "fixtures", "oracles", "chat-templates.json");
const oracle: Oracle | undefined = fs.existsSync(fixture) ? JSON.parse(fs.readFileSync(fixture, "utf8")) : undefined;
const templatesDir = path.join(root, "vendor", "llama.cpp", "models", "templates");
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const TRIGGER_TYPES = ["token", "word", "pattern", "patternFull"]; // common_grammar_trigger_type order

function comparable(p: NativeChatParams): OracleParams {
  const out: OracleParams = {
    prompt: p.prompt,
    chat_format: p.formatId,
    grammar_lazy: p.grammarLazy,
    grammar_triggers: p.grammarTriggers.map((t) => ({
      type: TRIGGER_TYPES.indexOf(t.type),
      value: t.value,
      ...(t.type === "token" ? { token: t.token } : {}),
    })),
    preserved_tokens: p.preservedTokens,
    generation_prompt: p.generationPrompt,
    stop: p.additionalStops,
  };
  if (p.grammar) out.grammar = { sha256: sha256(p.grammar), length: Buffer.byteLength(p.grammar) };
  if (p.parser) out.chat_parser = { sha256: sha256(p.parser), length: Buffer.byteLength(p.parser) };
  if (p.parseToolCalls) out.parse_tool_calls = true;
  return out;
}

function oracleComparable(p: OracleParams): OracleParams {
  const {
    prompt,
    chat_format,
    grammar,
    grammar_lazy,
    grammar_triggers,
    preserved_tokens,
    generation_prompt,
    stop,
    chat_parser,
    parse_tool_calls,
  } = p;
  return {
    prompt,
    chat_format,
    grammar_lazy,
    grammar_triggers,
    preserved_tokens,
    generation_prompt,
    stop,
    ...(grammar ? { grammar } : {}),
    ...(chat_parser ? { chat_parser } : {}),
    ...(parse_tool_calls ? { parse_tool_calls } : {}),
  };
}

const msgOf = (m: OracleMessage) => ({
  content: m.content ?? "",
  reasoning: m.reasoning_content ?? "",
  calls: (m.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
});

describe.runIf(oracle)("chat templates and parsers against llama-server's own pipeline", () => {
  const o = oracle as Oracle;
  it("covers every template in vendor/llama.cpp/models/templates", () => {
    const files = fs
      .readdirSync(templatesDir)
      .filter((f) => f.endsWith(".jinja"))
      .sort();
    expect(o.templates.map((t) => t.file)).toEqual(files);
  });

  for (const t of o.templates) {
    it(`${t.file}: every request renders and every output parses as llama-server does`, async () => {
      const source = fs.readFileSync(path.join(templatesDir, t.file), "utf8");
      let templates: NativeChatTemplates;
      try {
        templates = await chatBinding().ChatTemplates.create(null, { template: source, bosToken: o.bos, eosToken: o.eos });
      } catch (e) {
        // the oracle could not parse it either: every case holds its error
        for (const c of t.cases) expect(c.error, `${c.name}: native create failed (${(e as Error).message})`).toBeDefined();
        return;
      }
      try {
        for (const c of t.cases) {
          const request = { ...o.requests[c.name], now: o.now };
          let p: NativeChatParams;
          try {
            p = await templates.apply(JSON.stringify(request));
          } catch (e) {
            expect(c.error, `${c.name}: native apply failed (${(e as Error).message})`).toBeDefined();
            continue;
          }
          expect(c.error, `${c.name}: the oracle failed but native rendered`).toBeUndefined();
          expect(comparable(p), c.name).toEqual(oracleComparable(c.params as OracleParams));
          (c.parses ?? []).forEach((expected, i) => {
            const out = o.outputs[i]!;
            const parser = new (chatBinding().ChatParser)({
              format: p.formatId,
              parser: p.parser,
              generationPrompt: p.generationPrompt,
              reasoningFormat: p.reasoningFormat,
              parseToolCalls: p.parseToolCalls,
              isContinuation: p.isContinuation,
            });
            let got: NativeChatMessage;
            try {
              got = parser.update(out.text, out.partial).message;
            } catch (e) {
              expect(expected.error, `${c.name} / output ${i}: native parse failed (${(e as Error).message})`).toBeDefined();
              return;
            }
            expect(expected.error, `${c.name} / output ${i}: the oracle failed but native parsed`).toBeUndefined();
            const mine = {
              content: got.content,
              reasoning: got.reasoningContent,
              calls: got.toolCalls.map((x) => ({ name: x.name, arguments: x.arguments })),
            };
            expect(mine, `${c.name} / output ${i}: ${JSON.stringify(out.text)}`).toEqual(msgOf(expected.message as OracleMessage));
          });
        }
      } finally {
        templates.dispose();
      }
    });
  }
});

describe("chat bindings: errors, lifetimes and hostile templates", () => {
  const request = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });
  const create = (template: string) => chatBinding().ChatTemplates.create(null, { template, bosToken: "<s>", eosToken: "</s>" });

  it("rejects foreign receivers, bad options and bad requests with typed errors", async () => {
    const { ChatTemplates, ChatParser } = chatBinding();
    expect(() => (ChatTemplates.prototype.apply as unknown as (r: string) => unknown).call({}, request)).toThrow(TypeError);
    expect(() => (ChatParser.prototype.update as unknown as (t: string, p: boolean) => unknown).call({}, "x", true)).toThrow(TypeError);
    expect(() => ChatTemplates.create(null, {})).toThrow(/template is required/);
    expect(() => ChatTemplates.create(null, { template: "x", nope: 1 } as never)).toThrow(/unknown option 'nope'/);
    expect(() => new ChatParser({ format: 99, parser: "" } as never)).toThrow(RangeError);
    expect(() => new ChatParser({ format: 0, parser: "{not json", generationPrompt: "", reasoningFormat: "none" })).toThrow(
      /does not load/,
    );
    const t = await create("{{ messages[0].content }}");
    await expect(t.apply("{bad json")).rejects.toMatchObject({ name: "LlamaError", code: "ERR_LLAMA" });
    await expect(t.apply(JSON.stringify({}))).rejects.toThrow("'messages' is required");
    await expect(
      t.apply(JSON.stringify({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] })),
    ).rejects.toThrow(/image input is not supported/);
    await expect(create("{% if %}")).rejects.toThrow(/does not parse/);
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.caps()).toThrow(/disposed/);
    await expect(Promise.resolve().then(() => t.apply(request))).rejects.toThrow(/disposed/);
  });

  it("a request's `now` is the date the template sees (strftime_now and date_string), not the wall clock", async () => {
    // vendor/patches/0010-chat-template-now.patch: without it llama.cpp reads the clock, and the recorded
    // oracle above only matches on the day it was recorded
    const t = await create("{{ strftime_now('%Y-%m-%d') }}|{{ date_string }}|{{ messages[0].content }}");
    try {
      const at = (iso: string) =>
        t.apply(JSON.stringify({ messages: [{ role: "user", content: "hi" }], now: Date.parse(iso) })).then((p) => p.prompt);
      // noon UTC, so that any TZ a machine has keeps the same calendar day
      expect(await at("2020-01-15T12:00:00Z")).toBe("2020-01-15|15 Jan 2020|hi");
      expect(await at("1999-07-04T12:00:00Z")).toBe("1999-07-04|04 Jul 1999|hi");
      const today = await t.apply(request).then((p) => p.prompt);
      expect(today.startsWith(String(new Date().getFullYear()))).toBe(true);
    } finally {
      t.dispose();
    }
  });

  it("disposing while apply() runs is safe: the render finishes on its own reference", async () => {
    const t = await create("{% for i in range(500) %}{{ i }}{% endfor %}{{ messages[0].content }}");
    const p = t.apply(request);
    t.dispose();
    expect((await p).prompt.endsWith("hi")).toBe(true);
  });

  it("a hostile template is a LlamaError within about three seconds, never a hang or a crash", async () => {
    const hostile = [
      "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", // infinite recursion
      "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", // 10^10 steps
      "{{ 'x' * 100000000000 }}", // a 100 GB string
      "{% set s = 'xxxxxxxxxxxxxxxx' %}{% for i in range(60) %}{% set s = s + s %}{% endfor %}{{ s }}", // doubling
      "{{ range(10000000000) | length }}", // a huge range
      `${"(".repeat(5000)}1${")".repeat(5000)}`.replace(/^/, "{{ ").replace(/$/, " }}"), // deep nesting
    ];
    for (const src of hostile) {
      const t0 = Date.now();
      let failed = false;
      try {
        const t = await create(src);
        try {
          await t.apply(request);
        } finally {
          t.dispose();
        }
      } catch (e) {
        failed = true;
        expect((e as Error).name, src).toBe("LlamaError");
      }
      expect(failed, src).toBe(true);
      // Each render stops at its 2 s deadline or a bound, but llama.cpp renders a template 10-20 times at
      // create and apply (capability probes): ~2-4 s for create + apply on an idle machine. The bound
      // here only has to tell a bounded failure from a hang, on a loaded CI machine too.
      expect(Date.now() - t0, src).toBeLessThan(30_000 * timeScale);
    }
  });

  it("jsonSchemaToGrammar: llama.cpp's converter, refusals typed", () => {
    const { jsonSchemaToGrammar } = chatBinding();
    expect(jsonSchemaToGrammar(JSON.stringify({ type: "integer" }))).toContain("root ::=");
    expect(() => jsonSchemaToGrammar("{")).toThrow(TypeError);
    expect(() => jsonSchemaToGrammar(JSON.stringify({ $ref: "#/definitions/missing" }))).toThrow(/cannot convert/);
  });
});

describe.runIf(realModelPath())("chat sampling on the real model (generate's chatSampling)", () => {
  it("a JSON-schema chat grammar (prefilled with the generation prompt, as llama-server does) forces schema-valid JSON", async () => {
    const { loadModel } = await import("../../dist/index.mjs");
    const model = await loadModel(realModelPath() as string);
    const ctx = await model.createContext({ contextSize: 512 });
    const source = fs.readFileSync(path.join(templatesDir, "Qwen-Qwen2.5-7B-Instruct.jinja"), "utf8");
    const t = await chatBinding().ChatTemplates.create(model.native, { template: source });
    const schema = {
      type: "object",
      properties: { answer: { type: "string", enum: ["yes", "no"] }, n: { type: "integer", minimum: 0, maximum: 9 } },
      required: ["answer", "n"],
    };
    const p = await t.apply(
      JSON.stringify({
        messages: [{ role: "user", content: "Once upon a time" }],
        response_format: { type: "json_schema", json_schema: { schema } },
      }),
    );
    expect(p.grammar).not.toBe("");
    const sampling = JSON.stringify({
      grammar_lazy: p.grammarLazy,
      grammar_triggers: p.grammarTriggers,
      preserved_tokens: p.preservedTokens,
      generation_prompt: p.generationPrompt,
    });
    let text = "";
    type ChatGen = { generateChat(prompt: string, o: object, s: string): AsyncGenerator<{ text: string }, { stopReason: string }> };
    const it = (ctx as unknown as ChatGen).generateChat(
      p.prompt,
      { temperature: 0, maxTokens: 120, grammar: p.grammar, stop: p.additionalStops },
      sampling,
    );
    let r = await it.next();
    while (!r.done) {
      text += r.value.text;
      r = await it.next();
    }
    expect(r.value.stopReason).toBe("eog");
    const parser = new (chatBinding().ChatParser)({
      format: p.formatId,
      parser: p.parser,
      generationPrompt: p.generationPrompt,
      reasoningFormat: p.reasoningFormat,
    });
    const json = JSON.parse(parser.update(text, false).message.content);
    expect(["yes", "no"]).toContain(json.answer);
    expect(Number.isInteger(json.n) && json.n >= 0 && json.n <= 9).toBe(true);
    t.dispose();
    await ctx.dispose();
    await model.dispose();
  });
});
