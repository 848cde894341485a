// The HTTP fuzzer's material: the endpoints with a valid body each, the fields the server reads with
// valid values, and the odd numbers, strings, methods, paths and headers that mutations draw from.

export const API_KEY = "fuzz-key";

const MESSAGES = [
  { role: "system", content: "You tell stories." },
  { role: "user", content: "Tell me about a cat." },
];
const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "the weather",
      parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"] },
    },
  },
];

/** The endpoints and a valid body of each (the greedy request the canonical check sends is the first). */
export const ENDPOINTS = {
  chat: { method: "POST", path: "/v1/chat/completions", body: () => ({ model: "m", messages: MESSAGES, max_tokens: 16, temperature: 0 }) },
  chat_stream: {
    method: "POST",
    path: "/v1/chat/completions",
    body: () => ({ model: "m", messages: MESSAGES, max_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  },
  completions: {
    method: "POST",
    path: "/v1/completions",
    body: () => ({ model: "m", prompt: "Once upon a time", max_tokens: 16, temperature: 0 }),
  },
  completions_stream: {
    method: "POST",
    path: "/v1/completions",
    body: () => ({ model: "m", prompt: "Once upon a time", max_tokens: 16, stream: true }),
  },
  embeddings: { method: "POST", path: "/v1/embeddings", body: () => ({ model: "m", input: ["hello", "world"], encoding_format: "float" }) },
  tokenize: { method: "POST", path: "/tokenize", body: () => ({ content: "Hello world", add_special: true, with_pieces: true }) },
  detokenize: { method: "POST", path: "/detokenize", body: () => ({ tokens: [1, 400, 20, 300] }) },
  apply_template: { method: "POST", path: "/apply-template", body: () => ({ messages: MESSAGES, tools: TOOLS }) },
  models: { method: "GET", path: "/v1/models", body: () => undefined },
  health: { method: "GET", path: "/health", body: () => undefined },
};

// Fields the server reads, with values that are valid for them: mutations add these (then mutate them).
export const FIELDS = {
  temperature: [0, 0.7, 2],
  top_p: [0.9, 1],
  top_k: [0, 40],
  min_p: [0.05],
  typical_p: [1, 0.5],
  presence_penalty: [0.5, -1],
  frequency_penalty: [0.5],
  repeat_penalty: [1.1],
  repeat_last_n: [64, -1],
  seed: [42, -1, 4294967295],
  max_tokens: [1, 16, 100000],
  max_completion_tokens: [8],
  n_predict: [4, -1],
  stop: [["\n"], "cat", []],
  logit_bias: [{ 5: -100 }, { 300: 5 }],
  n: [1],
  logprobs: [false],
  stream: [true, false],
  stream_options: [{ include_usage: true }],
  tools: [TOOLS],
  tool_choice: ["auto", "none", "required", { type: "function", function: { name: "get_weather" } }],
  parallel_tool_calls: [true, false],
  response_format: [
    { type: "json_object" },
    { type: "json_schema", json_schema: { name: "w", schema: TOOLS[0].function.parameters } },
    { type: "text" },
  ],
  chat_template_kwargs: [{ enable_thinking: false }],
  reasoning_format: ["auto", "none", "deepseek"],
  reasoning_effort: ["none"],
  messages: [MESSAGES, [{ role: "user", content: [{ type: "text", text: "hi" }] }]],
  prompt: ["Once", ["Once"]],
  input: ["hello", ["a", "b"]],
  encoding_format: ["float", "base64"],
  content: ["Hello", "<s>"],
  add_special: [true, false],
  parse_special: [true, false],
  with_pieces: [true, false],
  tokens: [[1, 2, 3], []],
};

export const UNICODE = [
  "é",
  "日本語",
  "🦙",
  "\u0000",
  "\ud800",
  "\udfff",
  "\ufeff",
  "\u202e",
  "\r\n",
  "\\",
  '"',
  "<|im_start|>",
  "</s>",
  "<s>",
];
export const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  5e-324,
  1e21,
];

export const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "post", "BREW", "", "CONNECT", "TRACE", "G\u00c9T"];
export const PATHS = [
  "/v1/chat/completions",
  "/chat/completions",
  "/v1/completions/",
  "//v1/completions",
  "/v1/completions?x=1&&=",
  "/v1/embeddings#frag",
  "/v1/models",
  "/health",
  "/health/",
  "/",
  "*",
  "http://127.0.0.1/v1/models",
  "http://[",
  "/v1/%2e%2e/health",
  "/%zz",
  "/v1/chat%2Fcompletions",
  "/\u00ff\u00fe",
  "/a\u0000b",
  "/x".repeat(4000),
  "/tokenize",
  "/detokenize",
  "/apply-template",
  "",
];
export const JUNK_HEADERS = [
  "x-junk: \u00ff\u00fe",
  "x-a: 1\r\n x-folded: continued",
  "no-colon-here",
  ": empty-name",
  "x-sp ace: v",
  "x-long: " + "v".repeat(20_000),
  "x-nul: a\u0000b",
  "connection: upgrade\r\nupgrade: websocket",
  "expect: 100-continue",
  "expect: something-else",
  "content-type: text/plain",
  "content-type: multipart/form-data; boundary=x",
  "content-type: application/json; charset=latin1",
  "content-encoding: gzip",
  "connection: close",
  "host: \u0000",
  "transfer-encoding: gzip",
];
