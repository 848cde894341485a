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
import { chatBinding, type NativeChatParams } from "../../dist/chat-binding.js";
import { root } from "../helpers";

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
    grammar_triggers: p.grammarTriggers.map((t) => ({ type: TRIGGER_TYPES.indexOf(t.type), value: t.value, ...(t.type === "token" ? { token: t.token } : {}) })),
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
  const { prompt, chat_format, grammar, grammar_lazy, grammar_triggers, preserved_tokens, generation_prompt, stop, chat_parser, parse_tool_calls } = p;
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
    const files = fs.readdirSync(templatesDir).filter((f) => f.endsWith(".jinja")).sort();
    expect(o.templates.map((t) => t.file)).toEqual(files);
  });

  for (const t of o.templates) {
    it(`${t.file}: every request renders and every output parses as llama-server does`, async () => {
      const source = fs.readFileSync(path.join(templatesDir, t.file), "utf8");
      let templates;
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
            let got;
            try {
              got = parser.update(out.text, out.partial).message;
            } catch (e) {
              expect(expected.error, `${c.name} / output ${i}: native parse failed (${(e as Error).message})`).toBeDefined();
              return;
            }
            expect(expected.error, `${c.name} / output ${i}: the oracle failed but native parsed`).toBeUndefined();
            const mine = { content: got.content, reasoning: got.reasoningContent, calls: got.toolCalls.map((x) => ({ name: x.name, arguments: x.arguments })) };
            expect(mine, `${c.name} / output ${i}: ${JSON.stringify(out.text)}`).toEqual(msgOf(expected.message as OracleMessage));
          });
        }
      } finally {
        templates.dispose();
      }
    });
  }
});
