// The OpenAI-compatible server, driven by the official `openai` client (and raw fetch for the error
// cases a client library hides). Each suite starts its own server on a free loopback port.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Context, type Model, loadModel } from "../../dist/index.mjs";
import { type LlamaServer, createServer } from "../../dist/server/index.mjs";
import { logprobTolerance, realModelPath, requireRealModel, root, timeScale } from "../helpers";

describe("server: completions, embeddings, tokens, errors", () => {
  let server: LlamaServer;
  let base: string;
  let client: OpenAI;
  let model: Model;
  let ref: Context;

  beforeAll(async () => {
    model = await loadModel(inject("tinyModel"));
    server = await createServer({ model, contextSize: 1024, parallel: 4, embeddings: true, apiKey: "sekret", maxQueue: 2, alias: "tiny" });
    const addr = await server.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${addr.port}`;
    client = new OpenAI({ apiKey: "sekret", baseURL: `${base}/v1`, maxRetries: 0 });
    ref = await model.createContext({ contextSize: 256 });
  });
  afterAll(async () => {
    await server?.close();
    await model?.dispose();
  });

  it("lists its model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(["tiny"]);
  });

  it("a greedy completion equals ctx.complete on the same model; usage counts tokens", async () => {
    const r = await client.completions.create({ model: "tiny", prompt: "Hello world", max_tokens: 12, temperature: 0 });
    const mine = await ref.complete("Hello world", { maxTokens: 12, temperature: 0 });
    expect(r.choices[0]!.text).toBe(mine.text);
    expect(r.usage).toEqual({
      prompt_tokens: mine.timings.promptTokens,
      completion_tokens: mine.timings.generatedTokens,
      total_tokens: mine.timings.promptTokens + mine.timings.generatedTokens,
    });
    expect(r.choices[0]!.finish_reason).toBe(mine.stopReason === "maxTokens" ? "length" : "stop");
  });

  it("streamed text concatenates to the whole answer, with usage last when asked", async () => {
    const stream = await client.completions.create({
      model: "tiny",
      prompt: "Hello world",
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? "";
      if (c.usage) usage = c.usage;
    }
    const mine = await ref.complete("Hello world", { maxTokens: 12, temperature: 0 });
    expect(text).toBe(mine.text);
    expect(usage).toMatchObject({ completion_tokens: mine.timings.generatedTokens });
  });

  it("16 concurrent clients each get the answer they would get alone", async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => `Story ${i}:`);
    const alone = [];
    for (const p of prompts) alone.push((await ref.complete(p, { maxTokens: 8, temperature: 0 })).text);
    // 4 generate, 2 wait, the rest are refused with 503: retry them until they get through
    const ask = async (p: string): Promise<string> => {
      for (;;) {
        const r = await fetch(`${base}/v1/completions`, {
          method: "POST",
          headers: { authorization: "Bearer sekret", "content-type": "application/json" },
          body: JSON.stringify({ prompt: p, max_tokens: 8, temperature: 0 }),
        });
        if (r.status === 503) {
          expect(r.headers.get("retry-after")).toBe("1");
          await new Promise((res) => setTimeout(res, 20));
          continue;
        }
        expect(r.status).toBe(200);
        return ((await r.json()) as { choices: { text: string }[] }).choices[0]!.text;
      }
    };
    expect(await Promise.all(prompts.map(ask))).toEqual(alone);
  });

  it("embeddings: float and base64, string and array input", async () => {
    const one = await client.embeddings.create({ model: "tiny", input: "hello", encoding_format: "float" });
    const emb = await model.createContext({ contextSize: 64, embeddings: true });
    const mine = await emb.embed("hello");
    await emb.dispose();
    expect(one.data[0]!.embedding.length).toBe(mine.length);
    for (const [i, x] of one.data[0]!.embedding.entries()) expect(x).toBeCloseTo(mine[i]!, 5);
    const many = await client.embeddings.create({ model: "tiny", input: ["a", "b", "c"] }); // the client asks for base64 and decodes it
    expect(many.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(many.data[0]!.embedding.length).toBe(mine.length);
  });

  it("tokenize and detokenize", async () => {
    const post = (p: string, body: unknown) =>
      fetch(`${base}${p}`, { method: "POST", headers: { authorization: "Bearer sekret" }, body: JSON.stringify(body) }).then((r) =>
        r.json(),
      );
    const t = (await post("/tokenize", { content: "Hello world" })) as { tokens: number[] };
    expect(t.tokens).toEqual(Array.from(model.tokenize("Hello world", { addSpecial: false, parseSpecial: true })));
    expect(await post("/detokenize", { tokens: t.tokens })).toEqual({ content: model.detokenize(t.tokens) });
  });

  it("errors: OpenAI's shape and status, and the server stays up", async () => {
    const call = (p: string, init: RequestInit = {}) =>
      fetch(`${base}${p}`, { method: "POST", ...init, headers: { authorization: "Bearer sekret", ...(init.headers ?? {}) } });
    const expectError = async (r: Response, status: number, re: RegExp, param?: string) => {
      expect(r.status).toBe(status);
      const j = (await r.json()) as { error: { message: string; type: string; param: string | null } };
      expect(j.error.message).toMatch(re);
      if (param) expect(j.error.param).toBe(param);
    };
    await expectError(await call("/v1/completions", { body: "{not json" }), 400, /not valid JSON/);
    await expectError(
      await call("/v1/completions", { body: JSON.stringify({ prompt: "x", temperature: "hot" }) }),
      400,
      /temperature/,
      "temperature",
    );
    await expectError(await call("/v1/completions", { body: JSON.stringify({ prompt: 5 }) }), 400, /prompt/, "prompt");
    await expectError(await call("/v1/chat/completions", { body: JSON.stringify({ messages: [] }) }), 400, /messages/, "messages");
    await expectError(
      await call("/v1/completions", { body: JSON.stringify({ prompt: "x" }), headers: { authorization: "Bearer wrong" } }),
      401,
      /API key/,
    );
    await expectError(await call("/v1/nothing-here", { body: "{}" }), 404, /no route/);
    await expectError(await call("/v1/completions", { body: JSON.stringify({ prompt: "x".repeat(9 << 20) }) }), 413, /limit/);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const r = await client.completions.create({ model: "tiny", prompt: "still up", max_tokens: 2 });
    expect(r.choices).toHaveLength(1);
  });

  // found by fuzz/http_fuzz.mjs: node:http answered these with a bare status line, no JSON
  it("requests node:http cannot parse, and Expect other than 100-continue, get OpenAI's error shape", async () => {
    const port = Number(new URL(base).port);
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = net.connect(port, "127.0.0.1", () => sock.write(text));
        let out = "";
        sock.on("data", (d) => {
          out += d.toString("latin1");
        });
        sock.on("close", () => resolve(out));
        sock.on("error", reject);
        setTimeout(() => sock.destroy(), 5000);
      });
    for (const [text, status] of [
      ["BREW /v1/models HTTP/1.1\r\nhost: x\r\n\r\n", 400],
      ["POST /tokenize HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n", 400],
      [`GET /health HTTP/1.1\r\nhost: x\r\nx-long: ${"v".repeat(20_000)}\r\n\r\n`, 431],
      ["GET /health HTTP/1.1\r\nhost: x\r\nexpect: something-else\r\nconnection: close\r\n\r\n", 417],
    ] as const) {
      const answer = await raw(text);
      expect(answer.slice(0, 12)).toBe(`HTTP/1.1 ${status}`);
      expect(answer).toMatch(/content-type: application\/json/i);
      const j = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
      expect(j.error).toMatchObject({ code: status, type: expect.any(String), message: expect.any(String) });
    }
    // a body over the limit: a 413, then the request pipelined behind it answered on the same
    // connection (reading the body by `for await` destroyed the connection when it gave up on it)
    const big = `{"prompt":"${"x".repeat(9 << 20)}"}`;
    const answer = await raw(
      `POST /v1/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sekret\r\ntransfer-encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    );
    expect(answer.slice(0, 12)).toBe("HTTP/1.1 413");
    expect(answer.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 413", "HTTP/1.1 200"]);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  // found by fuzz/http_fuzz.mjs: these were 500s, or (many properties) blocked the event loop for hours
  it("tool and response_format schemas llama.cpp cannot convert, or too large to convert quickly, are 400s naming the field", async () => {
    const post = (p: string, body: unknown) =>
      fetch(`${base}${p}`, { method: "POST", headers: { authorization: "Bearer sekret" }, body: JSON.stringify(body) });
    const messages = [{ role: "user", content: "hi" }];
    const tool = (parameters: unknown) => [{ type: "function", function: { name: "f", parameters } }];
    const many = {
      type: "object",
      properties: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: "string" }])),
    };
    let deep: unknown = { type: "string" };
    for (let i = 0; i < 100; i++) deep = { type: "object", properties: { x: deep } };
    // limits count over the request: 40 tools of 10 properties each pass one by one, not together
    const tenProps = {
      type: "object",
      properties: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, { type: "string" }])),
    };
    const fortyTools = Array.from({ length: 40 }, (_, i) => ({ type: "function", function: { name: `f${i}`, parameters: tenProps } }));
    const cases: [string, unknown, string, RegExp][] = [
      ["/apply-template", { messages, tools: fortyTools }, "tools[25].function.parameters", /more than 256 properties in all/],
      [
        "/apply-template",
        { messages, tools: tool({ type: "object", properties: { city: { type: 4294967296 } } }) },
        "tools[0].function.parameters",
        /Unrecognized schema/,
      ],
      [
        "/v1/chat/completions",
        { messages, tools: tool({ type: "object", properties: { city: [{ type: "string" }] } }) },
        "tools[0].function.parameters",
        /Unrecognized schema/,
      ],
      [
        "/v1/chat/completions",
        { messages, response_format: { type: "json_schema", json_schema: { name: "x", schema: { $ref: "#/nope" } } } },
        "response_format.json_schema.schema",
        /nope/,
      ],
      ["/apply-template", { messages, tools: tool(many) }, "tools[0].function.parameters", /10000 properties; the limit is 128/],
      [
        "/v1/chat/completions",
        { messages, response_format: { type: "json_object", schema: deep } },
        "response_format.schema",
        /nested deeper than 64/,
      ],
      [
        "/apply-template",
        { messages, tools: tool({ type: "object", properties: { city: { type: Array.from({ length: 10_000 }, () => "string") } } }) },
        "tools[0].function.parameters",
        /type has 10000 items; the limit is 64/,
      ],
    ];
    for (const [p, body, param, re] of cases) {
      const t = Date.now();
      const r = await post(p, body);
      expect(r.status).toBe(400);
      const j = (await r.json()) as { error: { message: string; param: string } };
      expect(j.error.param).toBe(param);
      expect(j.error.message).toMatch(re);
      expect(Date.now() - t).toBeLessThan(5000 * timeScale); // bounded, not the hours 10,000 properties took
    }
  });

  it("a client that disconnects mid-stream frees its sequence at once", async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/v1/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sekret" },
      body: JSON.stringify({ prompt: "Once", max_tokens: 100_000, stream: true, temperature: 1, logit_bias: {} }),
      signal: ac.signal,
    });
    const reader = r.body!.getReader();
    await reader.read();
    ac.abort();
    // all four sequences are free again: four concurrent requests run without a 503
    const answers = await Promise.all(
      [0, 1, 2, 3].map(() =>
        fetch(`${base}/v1/completions`, {
          method: "POST",
          headers: { authorization: "Bearer sekret" },
          body: JSON.stringify({ prompt: "x", max_tokens: 2 }),
        }).then((x) => x.status),
      ),
    );
    expect(answers).toEqual([200, 200, 200, 200]);
  });
});

describe("server: the queue (waiting in the native engine), timeouts, close", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(inject("tinyModel"));
  });
  afterAll(async () => {
    await model?.dispose();
  });

  // Generations far longer than any test waits (end-of-generation banned, 30,000 tokens in 32,768
  // positions per sequence: tens of seconds on the tiny model), cut short by the server itself.
  const CONTEXT = 65536;
  const long = (stream: boolean) =>
    JSON.stringify({ prompt: "x", max_tokens: 30_000, stream, temperature: 1, logit_bias: { [model.vocab.eos]: -100 } });
  /** A streamed long generation, once its first event came; `done` resolves to its whole text. */
  const start = async (base: string) => {
    const r = await fetch(`${base}/v1/completions`, { method: "POST", body: long(true) });
    const reader = r.body!.getReader();
    const first = await reader.read();
    let text = new TextDecoder().decode(first.value);
    const done = (async () => {
      try {
        for (let c = await reader.read(); !c.done; c = await reader.read()) text += new TextDecoder().decode(c.value);
        return { text, at: performance.now(), cut: false };
      } catch {
        return { text, at: performance.now(), cut: true }; // the connection was closed under it
      }
    })();
    return { done };
  };
  const events = (text: string) => text.split("\n\n").filter((e) => e.startsWith("data: "));
  const post = (base: string, path: string, body: string) =>
    fetch(`${base}${path}`, { method: "POST", body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error?: { message: string; code: number } },
      at: performance.now(),
    }));

  it("past --timeout: a request gets 408, a stream ends with the error as its last event", async () => {
    const server = await createServer({ model, contextSize: CONTEXT, parallel: 2, timeout: 1 });
    try {
      const base = `http://127.0.0.1:${(await server.listen(0, "127.0.0.1")).port}`;
      const streamed = await start(base);
      const whole = await post(base, "/v1/completions", long(false));
      expect(whole.status).toBe(408);
      expect(whole.body.error?.message).toMatch(/timeout \(1 s\)/);
      const r = await streamed.done;
      expect(r.cut).toBe(false);
      const e = events(r.text);
      expect(e.at(-1)).toBe("data: [DONE]");
      expect(JSON.parse(e.at(-2)!.slice(6))).toMatchObject({ error: { code: 408 } });
    } finally {
      await server.close();
    }
  });

  it("close(): a request still waiting for a sequence gets 503 at once; the running ones go on until the grace period ends", async () => {
    const server = await createServer({ model, contextSize: CONTEXT, parallel: 2 });
    const base = `http://127.0.0.1:${(await server.listen(0, "127.0.0.1")).port}`;
    const running = [await start(base), await start(base)];
    const waiting = post(base, "/v1/completions", JSON.stringify({ prompt: "y", max_tokens: 4 }));
    await new Promise((r) => setTimeout(r, 300)); // the third request has arrived and waits
    const closed = server.close(1500);
    const w = await waiting;
    expect(w.status).toBe(503);
    expect(w.body.error?.message).toMatch(/shutting down/);
    for (const p of running) {
      const r = await p.done;
      expect(w.at).toBeLessThan(r.at); // refused while the others still generated
      // they went on generating through the grace period, and its end closed their connections
      expect(events(r.text).length).toBeGreaterThan(10);
      expect(r.cut).toBe(true);
    }
    await closed;
  });
});

const modelPath = realModelPath();

describe.runIf(modelPath || requireRealModel)("server: chat on stories260K with Qwen3's template", () => {
  let server: LlamaServer;
  let toolServer: LlamaServer;
  let client: OpenAI;
  let toolClient: OpenAI;
  let model: Model;
  let ref: Context;
  let dir: string;
  const weather = {
    type: "object",
    properties: { city: { type: "string", maxLength: 10 } },
    required: ["city"],
    additionalProperties: false,
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-serve-"));
    const { withStringMetadata } = await import(path.join(root, "scripts", "make-chat-model.mjs"));
    const file = path.join(dir, "chat.gguf");
    const template = fs.readFileSync(path.join(root, "vendor", "llama.cpp", "models", "templates", "Qwen-Qwen3-0.6B.jinja"), "utf8");
    await withStringMetadata(modelPath!, file, { "tokenizer.chat_template": template });
    model = await loadModel(file);
    server = await createServer({ model, contextSize: 8192, parallel: 2 });
    // Command R+'s "required" grammar starts the tool call at once (most templates let free text come
    // first, and a story model never opens a call): the tool test runs on a server with it
    toolServer = await createServer({
      model,
      contextSize: 4096,
      parallel: 1,
      chatTemplate: fs.readFileSync(
        path.join(root, "vendor", "llama.cpp", "models", "templates", "CohereForAI-c4ai-command-r-plus-tool_use.jinja"),
        "utf8",
      ),
    });
    toolClient = new OpenAI({
      apiKey: "none",
      baseURL: `http://127.0.0.1:${(await toolServer.listen(0, "127.0.0.1")).port}/v1`,
      maxRetries: 0,
    });
    const addr = await server.listen(0, "127.0.0.1");
    client = new OpenAI({ apiKey: "none", baseURL: `http://127.0.0.1:${addr.port}/v1`, maxRetries: 0 });
    ref = await model.createContext({ contextSize: 2048 });
  });
  afterAll(async () => {
    await server?.close();
    await toolServer?.close();
    await model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const messages = [
    { role: "system" as const, content: "You tell stories." },
    { role: "user" as const, content: "Tell me about a cat." },
  ];

  it("greedy answers equal ctx.chatComplete; the stream concatenates to the same", async () => {
    const r = await client.chat.completions.create({ model: "m", messages, max_tokens: 40, temperature: 0 });
    const mine = await ref.chatComplete(messages, { maxTokens: 40, temperature: 0 });
    expect(r.choices[0]!.message.content).toBe(mine.message.content);
    const stream = await client.chat.completions.create({
      model: "m",
      messages,
      max_tokens: 40,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    let reasoning = "";
    let usage: unknown;
    for await (const c of stream) {
      content += c.choices[0]?.delta.content ?? "";
      reasoning += (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(content).toBe(mine.message.content ?? "");
    expect(reasoning).toBe(mine.message.reasoning ?? "");
    expect(usage).toMatchObject({ completion_tokens: mine.timings.generatedTokens });
  });

  it("logprobs: OpenAI's shape, equal to ctx.chatComplete's, whole and streamed", async () => {
    const r = await client.chat.completions.create({
      model: "m",
      messages,
      max_tokens: 12,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const mine = await ref.chatComplete(messages, { maxTokens: 12, temperature: 0, logprobs: true, topLogprobs: 3 });
    const content = r.choices[0]!.logprobs!.content!;
    for (const [i, c] of content.entries()) expect(Math.abs(c.logprob - mine.logprobs![i]!.logprob)).toBeLessThan(logprobTolerance);
    expect(content.map((c) => c.top_logprobs.length)).toEqual(mine.logprobs!.map(() => 3));
    expect(content.map((c) => c.token).join("")).toBe(mine.message.content);
    expect(content[0]!.bytes).toEqual(Array.from(mine.logprobs![0]!.bytes));
    const stream = await client.chat.completions.create({
      model: "m",
      messages,
      max_tokens: 12,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
      stream: true,
    });
    const streamed = [];
    for await (const c of stream) streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    // the same tokens; logprobs equal up to float noise (the stream's prompt comes from the KV cache
    // the first request left, whose last token is decoded alone)
    expect(streamed.map((c) => [c.token, c.top_logprobs.map((t) => t.token)])).toEqual(
      content.map((c) => [c.token, c.top_logprobs.map((t) => t.token)]),
    );
    for (const [i, c] of streamed.entries()) expect(Math.abs(c.logprob - content[i]!.logprob)).toBeLessThan(logprobTolerance);
    // llama-server refuses top_logprobs without logprobs
    const bad = await fetch(`${client.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages, top_logprobs: 2 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/top_logprobs/);
  });

  it("llama-server's sampler fields (DRY, XTC, mirostat, top_n_sigma, min_keep) reach the sampler", async () => {
    const body = {
      prompt: "Once upon a time",
      max_tokens: 16,
      temperature: 0.9,
      seed: 11,
      dry_multiplier: 0.8,
      dry_allowed_length: 1,
      xtc_probability: 0.5,
      xtc_threshold: 0.1,
      top_n_sigma: 2,
      min_keep: 2,
      logprobs: 2,
    };
    const r = await fetch(`${client.baseURL}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const j = (await r.json()) as { choices: { text: string; logprobs: { content: { id: number }[] } }[] };
    const mine = await ref.complete("Once upon a time", {
      maxTokens: 16,
      temperature: 0.9,
      seed: 11,
      dry: { multiplier: 0.8, allowedLength: 1 },
      xtc: { probability: 0.5, threshold: 0.1 },
      topNSigma: 2,
      minKeep: 2,
    });
    expect(j.choices[0]!.text).toBe(mine.text);
    expect(j.choices[0]!.logprobs.content.map((c) => c.id)).toEqual(Array.from(mine.tokens));
    const miro = await fetch(`${client.baseURL}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Once upon a time", max_tokens: 16, seed: 5, mirostat: 2, mirostat_tau: 3 }),
    });
    const mineMiro = await ref.complete("Once upon a time", { maxTokens: 16, seed: 5, mirostat: { version: 2, tau: 3 } });
    expect(((await miro.json()) as { choices: { text: string }[] }).choices[0]!.text).toBe(mineMiro.text);
  });

  it('tools with tool_choice "required" give a tool call whose arguments validate', async () => {
    const r = await toolClient.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Weather?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: weather } }],
      tool_choice: "required",
      max_tokens: 400,
      temperature: 0,
    });
    const call = r.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments);
    expect(typeof args.city).toBe("string");
    expect(Object.keys(args)).toEqual(["city"]);
  });

  // found by fuzz/http_fuzz.mjs: a JSON answer cut off by max_tokens was a 500 ("the answer is not
  // JSON"); llama-server answers it as it is, finish_reason "length". A grammar llama.cpp refuses was a 500 too.
  it("a JSON answer cut off by max_tokens is answered with finish_reason length; a grammar llama.cpp refuses is a 400", async () => {
    const rf = { type: "json_object" as const };
    const r = await client.chat.completions.create({ model: "m", messages, response_format: rf, max_tokens: 3, temperature: 0 });
    expect(r.choices[0]!.finish_reason).toBe("length");
    expect(r.usage!.completion_tokens).toBe(3);
    expect(() => JSON.parse(r.choices[0]!.message.content!)).toThrow();
    const stream = await client.chat.completions.create({
      model: "m",
      messages,
      response_format: rf,
      max_tokens: 3,
      temperature: 0,
      stream: true,
    });
    let content = "";
    let finish: string | null | undefined;
    for await (const c of stream) {
      content += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(content).toBe(r.choices[0]!.message.content);
    expect(finish).toBe("length");
    const huge = { type: "object", properties: { a: { type: "string", minLength: 100_000_000 } } };
    await expect(
      client.chat.completions.create({
        model: "m",
        messages,
        max_tokens: 3,
        tools: [{ type: "function", function: { name: "f", parameters: huge } }],
      }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/could not be prepared: invalid grammar/) });
  });

  it("response_format json_schema yields JSON of the schema", async () => {
    const r = await client.chat.completions.create({
      model: "m",
      messages,
      response_format: { type: "json_schema", json_schema: { name: "w", schema: weather } },
      max_tokens: 100,
      temperature: 0,
    });
    const j = JSON.parse(r.choices[0]!.message.content!);
    expect(Object.keys(j)).toEqual(["city"]);
  });
});
