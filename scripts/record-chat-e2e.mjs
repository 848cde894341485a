#!/usr/bin/env node
// Records what llama-server (built from the vendored tree by scripts/native-tools.mjs) answers to a
// few chat requests on stories260K with a real model's chat template added to its metadata:
// test/fixtures/oracles/chat-e2e.json, read by test/model/chat-e2e.test.ts. Each entry keeps the
// request, the exact llama-server command line, and the response message.
//   node scripts/record-chat-e2e.mjs [--model ../shared/models/stories260K.gguf] [--this-cpu]
// --this-cpu: write test/fixtures/oracles/chat-e2e.cpu-<cpuId>.json, the recording the test reads on
// this CPU model only (scripts/simd-class.mjs: where llama-server's own answers differ by CPU model).
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeChatModel, THINK_TOKENS } from "./make-chat-model.mjs";
import { cpuId, oracleFileToWrite, simdClass } from "./simd-class.mjs";
import { buildTools, freePort, startServer, stopServer } from "./native-tools.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { model: { type: "string" }, "this-cpu": { type: "boolean", default: false } }, strict: true });
const stories = values.model ?? path.resolve(root, "..", "shared", "models", "stories260K.gguf");
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));

// Command R+: its "required" grammar starts the tool call at once (with the others, llama.cpp lets free text come
// first, and stories260K never opens a call), so its toolRequired case is a real parsed tool call.
export const TEMPLATES = [
  "Qwen-Qwen3-0.6B",
  "Qwen-Qwen2.5-7B-Instruct",
  "meta-llama-Llama-3.2-3B-Instruct",
  "CohereForAI-c4ai-command-r-plus-tool_use",
];
const weather = {
  type: "object",
  properties: { city: { type: "string", maxLength: 12 }, days: { type: "integer", minimum: 1, maximum: 7 } },
  required: ["city", "days"],
  additionalProperties: false,
};
export const REQUESTS = {
  plain: {
    messages: [
      { role: "system", content: "You tell stories." },
      { role: "user", content: "Tell me about a cat." },
    ],
    max_tokens: 48,
    temperature: 0,
  },
  turns: {
    messages: [
      { role: "user", content: "Hello!" },
      { role: "assistant", content: "Hi. Once upon a time there was a dog." },
      { role: "user", content: "What happened next?" },
    ],
    max_tokens: 48,
    temperature: 0,
  },
  toolRequired: {
    messages: [{ role: "user", content: "What is the weather?" }],
    tools: [{ type: "function", function: { name: "get_weather", description: "the forecast", parameters: weather } }],
    tool_choice: "required",
    max_tokens: 120,
    temperature: 0,
  },
  jsonSchema: {
    messages: [{ role: "user", content: "Describe the weather as JSON." }],
    response_format: { type: "json_schema", json_schema: { name: "weather", schema: weather } },
    max_tokens: 120,
    temperature: 0,
  },
};

// Requests only some templates get: the reasoning budget (QwQ opens its thinking block in the
// generation prompt, so llama.cpp's budget sampler counts from the first token) and logprobs.
const thinking = { messages: [{ role: "user", content: "Tell me about a cat." }], max_tokens: 40, temperature: 0 };
export const EXTRA = {
  "Qwen-QwQ-32B": {
    budgetUnlimited: thinking,
    budget0: { ...thinking, reasoning_budget_tokens: 0 },
    budget6: { ...thinking, reasoning_budget_tokens: 6 },
  },
  "Qwen-Qwen2.5-7B-Instruct": {
    logprobs: { ...REQUESTS.plain, max_tokens: 16, logprobs: true, top_logprobs: 3 },
  },
};

// Templates whose model gets single-token <think> and </think> (THINK_TOKENS)
const THINKING_TOKENS = ["Qwen-QwQ-32B"];

const bin = path.join(buildTools(["llama-server"]), "llama-server");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-chat-e2e-"));
const out = {
  llamaCppCommit: pin.commit,
  model: path.basename(stories),
  modelSha256: crypto.createHash("sha256").update(fs.readFileSync(stories)).digest("hex"),
  // logprobs and sampled tokens depend on the kernels' SIMD width (scripts/simd-class.mjs)
  simd: simdClass(),
  cpu: os.cpus()[0]?.model ?? "",
  cpuId: cpuId(),
  cases: [],
};
try {
  for (const name of new Set([...TEMPLATES, ...Object.keys(EXTRA)])) {
    const requests = { ...(TEMPLATES.includes(name) ? REQUESTS : {}), ...(EXTRA[name] ?? {}) };
    const model = path.join(dir, `${name}.gguf`);
    await makeChatModel(
      stories,
      fs.readFileSync(path.join(root, "vendor", "llama.cpp", "models", "templates", `${name}.jinja`), "utf8"),
      model,
      THINKING_TOKENS.includes(name) ? THINK_TOKENS : {},
    );
    const port = await freePort();
    const args = ["-m", model, "--port", String(port), "--jinja", "-c", "2048", "-np", "1", "-t", "1", "--no-webui", "-lv", "0"];
    const child = await startServer(bin, args, port);
    try {
      for (const [kind, request] of Object.entries(requests)) {
        const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          // no prompt cache: a request that shares a prefix with the previous one would decode only
          // its last prompt token alone, whose logits differ from a whole-prompt decode by ~1e-4
          body: JSON.stringify({ ...request, cache_prompt: false }),
        });
        const j = await r.json();
        if (!r.ok) throw new Error(`${name} ${kind}: HTTP ${r.status}: ${JSON.stringify(j)}`);
        const m = j.choices[0].message;
        out.cases.push({
          template: name,
          kind,
          command: [
            "llama-server",
            ...args.map((a) =>
              a === model
                ? `<${path.basename(stories)} + ${name}.jinja as tokenizer.chat_template${THINKING_TOKENS.includes(name) ? " + THINK_TOKENS" : ""}>`
                : a === String(port)
                  ? "<port>"
                  : a,
            ),
          ],
          request,
          thinkTokens: THINKING_TOKENS.includes(name),
          finishReason: j.choices[0].finish_reason,
          message: {
            content: m.content ?? null,
            reasoning: m.reasoning_content ?? "",
            toolCalls: (m.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
          },
          completionTokens: j.usage.completion_tokens,
          ...(request.logprobs
            ? {
                logprobs: j.choices[0].logprobs.content.map((p) => ({
                  id: p.id,
                  logprob: p.logprob,
                  top: p.top_logprobs.map((t) => ({ id: t.id, logprob: t.logprob })),
                })),
              }
            : {}),
        });
        console.error(`${name} ${kind}: ${j.choices[0].finish_reason}, ${j.usage.completion_tokens} tokens`);
      }
    } finally {
      await stopServer(child);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
const file = oracleFileToWrite(path.join(root, "test", "fixtures", "oracles"), "chat-e2e", simdClass(), values["this-cpu"]);
fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.error(`wrote ${path.relative(process.cwd(), file)} (${out.cases.length} cases)`);
