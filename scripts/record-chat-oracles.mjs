#!/usr/bin/env node
// Records llama.cpp's own chat pipeline on every template in vendor/llama.cpp/models/templates/: what
// llama-server's request parsing (oaicompat_chat_params_parse → common_chat_templates_apply) makes
// of a fixed set of conversations, and what its streamed-output state (task_result_state →
// common_chat_parse) makes of assistant outputs in several tool-call and reasoning syntaxes, whole
// and cut short. The oracle is scripts/chat-oracle/main.cpp: glue that calls llama-server's own
// functions, compiled from the vendored tree (no HTTP, no model: templates get bos "<s>", eos "</s>").
// (scripts/chat-oracle/CMakeLists.txt builds the same glue against llama.cpp's own CMake targets,
// mtmd and all, for whoever wants to check it that way; it takes a full llama.cpp build.)
//
//   npm run build:native && node scripts/record-chat-oracles.mjs [--build-dir DIR]   (default /tmp/llama-native-chat-oracle)
// Writes test/fixtures/oracles/chat-templates.json; test/model/chat-native.test.ts compares with it.
// Templates that read the date (strftime_now) see the recording's clock: the fixture keeps that
// instant as `now`, and the test passes it to the native request.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { "build-dir": { type: "string" } } });
const buildDir = path.resolve(values["build-dir"] ?? path.join(os.tmpdir(), "llama-native-chat-oracle"));
const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
const templatesDir = path.join(root, "vendor", "llama.cpp", "models", "templates");

const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: ["pipe", "pipe", "inherit"], encoding: "utf8", maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return r.stdout;
};

// The oracle links llama-server's own request and streaming code (tools/server: server-common.cpp,
// server-task.cpp, server-schema.cpp) against the llama.cpp libraries of this checkout's addon build
// (build/: libllama, ggml, and llama.cpp's common/ chat subset — run `npm run build:native` first).
// Media (mtmd) and HTTP code in those files is never reached without media input: their symbols are
// stubbed with traps rather than compiling all of mtmd for an oracle that renders text.
const server = path.join(root, "vendor", "llama.cpp", "tools", "server");
const lib = (p) => path.join(root, "build", p);
const libs = [
  lib("libllama_native_common.a"),
  lib("llama.cpp/src/libllama.a"),
  lib("llama.cpp/ggml/src/libggml.a"),
  lib("llama.cpp/ggml/src/libggml-cpu.a"),
  lib("llama.cpp/ggml/src/libggml-base.a"),
];
for (const l of libs) if (!fs.existsSync(l)) throw new Error(`${path.relative(root, l)} is missing: run npm run build:native first`);
const sources = [
  path.join(root, "scripts", "chat-oracle", "main.cpp"),
  ...["server-common.cpp", "server-task.cpp", "server-schema.cpp"].map((f) => path.join(server, f)),
];
const includes = ["tools/server", "tools/mtmd", "common", "include", "ggml/include", "vendor", "."].flatMap((d) => [
  "-I",
  path.join(root, "vendor", "llama.cpp", d),
]);
fs.mkdirSync(buildDir, { recursive: true });
const cxx = process.env.CXX ?? "c++";
const objects = [];
const commands = [];
for (const src of sources) {
  const obj = path.join(buildDir, `${path.basename(src)}.o`);
  objects.push(obj);
  const args = ["-std=c++17", "-O1", "-DNDEBUG", ...includes, "-c", src, "-o", obj];
  commands.push([cxx, ...args].join(" "));
  if (fs.existsSync(obj) && fs.statSync(obj).mtimeMs > fs.statSync(src).mtimeMs) continue;
  console.error(`compiling ${path.relative(root, src)}`);
  run(cxx, args, { stdio: ["ignore", "inherit", "inherit"] });
}
const oracle = path.join(buildDir, "chat-oracle");
// A first link lists what is missing (mtmd_*, the HTTP fetcher, JSON formatting of other endpoints);
// each becomes a stub that traps (ud2) if it were ever called.
const probe = spawnSync(cxx, [...objects, ...libs, "-Wl,--no-demangle", "-lpthread", "-ldl", "-lm", "-o", oracle], { encoding: "utf8" });
const missing = [...new Set([...probe.stderr.matchAll(/undefined reference to `([^']+)'/g)].map((m) => m[1]))].sort();
const stubs = path.join(buildDir, "stubs.s");
fs.writeFileSync(stubs, missing.map((sym) => `.globl ${sym}\n.type ${sym},@function\n${sym}:\n  ud2\n`).join(""));
const link = [...objects, stubs, ...libs, "-lpthread", "-ldl", "-lm", "-o", oracle];
commands.push(
  `${cxx} ${link.join(" ")}  # stubs.s: ${missing.length} unreached symbols (${missing.filter((m) => m.startsWith("mtmd")).length} of mtmd), each a trap`,
);
run(cxx, link, { stdio: ["ignore", "inherit", "inherit"] });

// ---- the conversations ------------------------------------------------------------------------
const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
    },
  },
};
const TIME = {
  type: "function",
  function: {
    name: "get_time",
    description: "The time in a timezone",
    parameters: { type: "object", properties: { tz: { type: "string" } }, required: ["tz"] },
  },
};
const SYSTEM = { role: "system", content: "You are a helpful assistant." };
const USER = { role: "user", content: "What is the weather in Paris?" };
const CALL = { id: "call_1", type: "function", function: { name: "get_weather", arguments: JSON.stringify({ city: "Paris" }) } };
const TURNS = [
  SYSTEM,
  { role: "user", content: "Hi!" },
  { role: "assistant", content: "Hello! How can I help?" },
  { role: "user", content: "Tell me a joke." },
];
const TOOL_TURNS = [
  SYSTEM,
  USER,
  { role: "assistant", content: "", tool_calls: [CALL] },
  { role: "tool", tool_call_id: "call_1", name: "get_weather", content: '{"temp": 18, "sky": "clear"}' },
];
const SCHEMA = {
  type: "object",
  properties: { answer: { type: "string" }, score: { type: "integer", minimum: 0, maximum: 10 } },
  required: ["answer"],
};

export const REQUESTS = {
  "system+user": { messages: [SYSTEM, USER] },
  "system+user, no generation prompt": { messages: [SYSTEM, USER], add_generation_prompt: false },
  "several turns": { messages: TURNS },
  "several turns, no generation prompt": { messages: TURNS, add_generation_prompt: false },
  tools: { messages: [SYSTEM, USER], tools: [WEATHER, TIME] },
  "tools, required": { messages: [SYSTEM, USER], tools: [WEATHER, TIME], tool_choice: "required" },
  "tool call and result": { messages: TOOL_TURNS, tools: [WEATHER, TIME] },
  "thinking off": { messages: [SYSTEM, USER], chat_template_kwargs: { enable_thinking: false } },
  "thinking off, tools": { messages: [SYSTEM, USER], tools: [WEATHER], chat_template_kwargs: { enable_thinking: false } },
  "json schema": { messages: [SYSTEM, USER], response_format: { type: "json_schema", json_schema: { schema: SCHEMA } } },
};

// Assistant outputs in the syntaxes the templates' formats use; each is parsed (final and, cut in
// the middle, partial) under the "tools" and "system+user" requests of every template.
const ARGS = '{"city": "Paris"}';
const FULL_OUTPUTS = [
  "The weather in Paris is sunny.",
  "<think>The user wants the weather.</think>It is sunny in Paris.",
  `<tool_call>\n{"name": "get_weather", "arguments": ${ARGS}}\n</tool_call>`,
  `<think>I should call the tool.</think>\n<tool_call>\n{"name": "get_weather", "arguments": ${ARGS}}\n</tool_call>`,
  `Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": ${ARGS}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>`,
  `{"name": "get_weather", "parameters": ${ARGS}}`,
  `[TOOL_CALLS]get_weather[ARGS]${ARGS}`,
  `[TOOL_CALLS][{"name": "get_weather", "arguments": ${ARGS}}]`,
  `<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>${ARGS}`,
  `<|channel|>final<|message|>It is sunny.`,
  `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n\`\`\`json\n${ARGS}\n\`\`\`<｜tool▁call▁end｜><｜tool▁calls▁end｜>`,
  `<function=get_weather>${ARGS}</function>`,
  `<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>`,
  `>>>get_weather\n${ARGS}`,
  `<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|>`,
  `<|python_tag|>get_weather.call(city="Paris")`,
  `<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>`,
  `<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>${ARGS}<|tool_call_end|><|tool_calls_section_end|>`,
];
const OUTPUTS = FULL_OUTPUTS.flatMap((text) => [
  { text, partial: false },
  { text: text.slice(0, Math.ceil(text.length * 0.6)), partial: true },
]);
const PARSED_REQUESTS = new Set(["system+user", "tools", "thinking off, tools"]);

const files = fs
  .readdirSync(templatesDir)
  .filter((f) => f.endsWith(".jinja"))
  .sort();
const now = Date.now();
const cases = [];
for (const file of files) {
  const template = fs.readFileSync(path.join(templatesDir, file), "utf8");
  for (const [name, request] of Object.entries(REQUESTS)) {
    cases.push({ file, name, template, bos: "<s>", eos: "</s>", request, outputs: PARSED_REQUESTS.has(name) ? OUTPUTS : [] });
  }
}
const results = JSON.parse(run(oracle, [], { input: JSON.stringify(cases) }));
// Grammars and serialized parsers run to kilobytes each: the fixture keeps their sha256 (the test
// hashes its own the same way, so the comparison stays byte for byte).
export const sha256 = (s) => createHash("sha256").update(s, "utf8").digest("hex");
for (const r of results) {
  for (const k of ["grammar", "chat_parser"]) {
    if (typeof r.params?.[k] === "string") r.params[k] = { sha256: sha256(r.params[k]), length: Buffer.byteLength(r.params[k]) };
  }
}
const out = {
  recordedWith: {
    command: `${commands.join(" && ")} && ${oracle} < cases`,
    oracle: "scripts/chat-oracle/main.cpp (llama-server's oaicompat_chat_params_parse and task_result_state)",
    llamaCppCommit: pin.commit,
    script: "node scripts/record-chat-oracles.mjs",
    date: new Date(now).toISOString(),
  },
  now,
  bos: "<s>",
  eos: "</s>",
  requests: REQUESTS,
  outputs: OUTPUTS,
  templates: files.map((file) => ({
    file,
    cases: Object.keys(REQUESTS).map((name) => {
      const i = cases.findIndex((c) => c.file === file && c.name === name);
      return { name, ...results[i] };
    }),
  })),
};
const dest = path.join(root, "test", "fixtures", "oracles", "chat-templates.json");
fs.writeFileSync(dest, `${JSON.stringify(out, null, 1)}\n`);
const n = out.templates.reduce((a, t) => a + t.cases.filter((c) => !c.error).length, 0);
console.log(`wrote ${path.relative(root, dest)}: ${files.length} templates, ${n} rendered requests`);
