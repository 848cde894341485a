// Images in through llama.cpp's mtmd: model.loadProjector / loadModel({ projector }), complete() with
// media. Oracle: test/fixtures/oracles/mtmd.json, the greedy text llama.cpp's own llama-mtmd-cli
// printed for stories260K with the random-weight `mlp` projector of scripts/make-projector.mjs and
// each picture of scripts/test-images.mjs (recorded by scripts/record-mtmd-oracle.mjs; command,
// llama.cpp commit and every file's sha256 inside). The projector and the pictures are made again
// here and must hash to what was recorded.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidMediaError, LlamaError, loadModel, MEDIA_MARKER, type Context, type Model } from "../../dist/index.mjs";
import { realModelPath, requireRealModel, root } from "../helpers";

interface MtmdOracle {
  llamaCppCommit: string;
  modelSha256: string;
  projector: Record<string, number>;
  projectorSha256: string;
  runs: { image: string; imageSha256: string; command: string[]; prompt: string; n: number; formatted: string; stdout: string }[];
  server?: {
    image: string;
    command: string[];
    cases: { order: string[]; content: string; usage: { prompt_tokens: number }; finishReason: string }[];
  };
}

const oraclePath = path.join(root, "test", "fixtures", "oracles", "mtmd.json");
const oracle: MtmdOracle | undefined = fs.existsSync(oraclePath) ? JSON.parse(fs.readFileSync(oraclePath, "utf8")) : undefined;
const real = realModelPath();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-mtmd-"));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** The chatml rendering llama-mtmd-cli makes of one user message (checked against its log below). */
const chatml = (user: string) => `<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`;
/** The answer in what llama-mtmd-cli printed: it writes a newline before the answer and one or two after it. */
const cliAnswer = (stdout: string) => stdout.replace(/^\n/, "").replace(/\n\n?$/, "");

let images: Record<string, () => Uint8Array>;
let projectorPath: string;

beforeAll(async () => {
  const mp = await import(path.join(root, "scripts", "make-projector.mjs"));
  projectorPath = await mp.makeProjector({ ...mp.TINY_PROJECTOR, out: path.join(tmp, "projector.gguf") });
  images = (await import(path.join(root, "scripts", "test-images.mjs"))).TEST_IMAGES;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!real && !requireRealModel)("images on stories260K (llama-mtmd-cli's output)", () => {
  let model: Model;
  let ctx: Context;
  beforeAll(async () => {
    model = await loadModel(real!, { projector: projectorPath });
    ctx = await model.createContext({ contextSize: 256 });
  });
  afterAll(() => model?.dispose());

  it("the fixtures are the ones the oracle was recorded with", () => {
    expect(oracle, "test/fixtures/oracles/mtmd.json (node scripts/record-mtmd-oracle.mjs)").toBeDefined();
    expect(sha256(fs.readFileSync(projectorPath))).toBe(oracle!.projectorSha256);
    expect(sha256(fs.readFileSync(real!))).toBe(oracle!.modelSha256);
    for (const run of oracle!.runs) expect(sha256(images[run.image]!()), run.image).toBe(run.imageSha256);
    expect(oracle!.runs.map((r) => r.image)).toEqual(Object.keys(images));
  });

  it("model.info.modalities says what the projector takes", () => {
    expect(model.info.modalities).toEqual({ vision: true, audio: false });
    expect(model.projector?.modalities).toEqual({ vision: true, audio: false });
  });

  for (const run of oracle?.runs ?? []) {
    it(`${run.image}: greedy text equals llama-mtmd-cli's`, async () => {
      // the prompt the CLI logged is the chatml rendering of the image marker and the prompt
      expect(run.formatted).toBe(chatml(MEDIA_MARKER + run.prompt));
      const r = await ctx.complete(run.formatted, {
        media: [{ type: "image", data: images[run.image]!() }],
        maxTokens: run.n,
        temperature: 0,
      });
      expect(r.text).toBe(cliAnswer(run.stdout));
    });
  }

  it("on a speculative context a prompt with media generates without drafts (the CLI's text); text prompts draft", async () => {
    const run = oracle!.runs[0]!;
    for (const speculative of [{ draft: { model } }, { ngram: { sizeN: 2, sizeM: 4 } }]) {
      const spec = await model.createContext({ contextSize: 256, speculative });
      const r = await spec.complete(run.formatted, {
        media: [{ type: "image", data: images[run.image]!() }],
        maxTokens: run.n,
        temperature: 0,
      });
      expect(r.text).toBe(cliAnswer(run.stdout));
      expect(r.timings.draftedTokens).toBe(0);
      const text = await spec.complete("Once upon a time", { maxTokens: 48, temperature: 0 });
      const alone = await ctx.complete("Once upon a time", { maxTokens: 48, temperature: 0 });
      expect(text.text).toBe(alone.text);
      if ("draft" in speculative) expect(text.timings.draftedTokens).toBeGreaterThan(0);
      await spec.dispose();
    }
  });

  it("chat messages with image parts render the marker where llama.cpp's chat pipeline puts it (the CLI's text again)", async () => {
    // stories260K has no template: the chat pipeline falls back to ChatML, as the CLI was told to use
    for (const run of oracle!.runs.slice(0, 3)) {
      const r = await ctx.chatComplete(
        [
          {
            role: "user",
            content: [
              { type: "image", data: images[run.image]!() },
              { type: "text", text: run.prompt },
            ],
          },
        ],
        { maxTokens: run.n, temperature: 0 },
      );
      expect(r.message.content, run.image).toBe(cliAnswer(run.stdout));
    }
    await expect(ctx.chatComplete([{ role: "user", content: [{ type: "video", data: new Uint8Array(1) }] as never }])).rejects.toThrow(
      /"text", "image" or "audio"/,
    );
  });

  it("the server: /v1/chat/completions with image_url data: URL parts in four orders gives llama-server --mmproj's answers", async () => {
    const rec = oracle!.server;
    expect(rec, "test/fixtures/oracles/mtmd.json has no llama-server recording (node scripts/record-mtmd-oracle.mjs)").toBeDefined();
    const { createServer } = await import("../../dist/server/index.mjs");
    const server = await createServer({ model, contextSize: 512, parallel: 1 });
    try {
      const addr = await server.listen(0, "127.0.0.1");
      const url = `http://127.0.0.1:${addr.port}/v1/chat/completions`;
      const post = (body: object) =>
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const data = images[rec!.image]!();
      const dataUrl = `data:image/png;base64,${Buffer.from(data).toString("base64")}`;
      const part = (p: string) =>
        p === "image" ? { type: "image_url", image_url: { url: dataUrl } } : { type: "text", text: oracle!.runs[0]!.prompt };
      // image first is the CLI's prompt too: the recorded server and CLI agree there
      const cli = oracle!.runs.find((r) => r.image === rec!.image)!;
      expect(rec!.cases[0]!.order).toEqual(["image", "text"]);
      expect(rec!.cases[0]!.content).toBe(cliAnswer(cli.stdout));
      const answers = new Set<string>();
      for (const c of rec!.cases) {
        const res = await post({ messages: [{ role: "user", content: c.order.map(part) }], temperature: 0, max_tokens: cli.n });
        expect(res.status, await res.clone().text()).toBe(200);
        const j = (await res.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
        expect(j.choices[0]!.message.content, c.order.join("+")).toBe(c.content);
        expect(j.usage.prompt_tokens, c.order.join("+")).toBe(c.usage.prompt_tokens);
        // and the library's own chat gives the same
        const parts = c.order.map((p) =>
          p === "image" ? { type: "image" as const, data } : { type: "text" as const, text: oracle!.runs[0]!.prompt },
        );
        const direct = await ctx.chatComplete([{ role: "user", content: parts }], { maxTokens: cli.n, temperature: 0 });
        expect(direct.message.content, c.order.join("+")).toBe(c.content);
        answers.add(c.content);
      }
      // control: the orders are not all one answer, so where the marker goes is checked
      expect(answers.size).toBeGreaterThan(1);
      const remote = await post({
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }],
      });
      expect(remote.status).toBe(400);
      expect(await remote.text()).toMatch(/only data: URLs/);
    } finally {
      await server.close();
    }
  });

  it("the CLI's chat: /image FILE attaches a picture to the next message (the CLI oracle's answer)", async () => {
    const { spawn } = await import("node:child_process");
    const run = oracle!.runs[0]!;
    const png = path.join(tmp, `${run.image}.png`);
    fs.writeFileSync(png, images[run.image]!());
    const child = spawn(
      process.execPath,
      [
        path.join(root, "bin", "llama-native.mjs"),
        "chat",
        "-m",
        real!,
        "--mmproj",
        projectorPath,
        "--temp",
        "0",
        "-n",
        String(run.n),
        "-c",
        "512",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    const answer = `${cliAnswer(run.stdout)}\n`;
    // stdin stays open until the answer is out (the chat stops an answer when its input ends)
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer; stdout so far: ${out}`)), 60_000);
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes(answer)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.stdin.write(`/image ${png}\n${run.prompt}\n`);
    try {
      await done;
    } finally {
      child.stdin.end("/exit\n");
      await new Promise((r) => child.once("exit", r));
    }
    expect(out).toContain(`(${png} goes with your next message)`);
    expect(out).toContain(answer);
  });

  it("generations with different pictures at once, in the engine's shared batch, each equal the CLI's", async () => {
    const c2 = await model.createContext({ contextSize: 512, sequences: 3 });
    try {
      const runs = oracle!.runs.slice(0, 3);
      const results = await Promise.all(
        runs.map((run) =>
          c2.complete(run.formatted, { media: [{ type: "image", data: images[run.image]!() }], maxTokens: run.n, temperature: 0 }),
        ),
      );
      for (const [i, r] of results.entries()) expect(r.text, runs[i]!.image).toBe(cliAnswer(runs[i]!.stdout));
    } finally {
      await c2.dispose();
    }
  });

  it("the picture decides the output (control: the runs above are not all the same text)", () => {
    const texts = new Set(oracle!.runs.map((r) => r.stdout));
    expect(texts.size).toBeGreaterThanOrEqual(3);
  });

  it("a follow-up about the same picture reuses its encoding; another picture is decoded again", async () => {
    await ctx.clearCache();
    const first = chatml(`${MEDIA_MARKER}Once upon a time`);
    const red = { type: "image" as const, data: images.red!() };
    const a = await ctx.complete(first, { media: [red], maxTokens: 8, temperature: 0 });
    const follow = `${first}${a.text}<|im_end|>\n${chatml("What next?")}`;
    const b = await ctx.complete(follow, { media: [red], maxTokens: 8, temperature: 0 });
    // the BOS, "<|im_start|>user\n" and the picture's 16 positions come from the cache
    const imageEnd = model.tokenize("<|im_start|>user\n", { addSpecial: true, parseSpecial: true }).length + 16;
    expect(b.timings.reusedTokens).toBeGreaterThanOrEqual(imageEnd);
    expect(b.timings.evaluatedPromptTokens).toBe(b.timings.promptTokens - b.timings.reusedTokens);
    // control: the same follow-up about another picture shares only the text before the picture
    const c = await ctx.complete(follow, { media: [{ type: "image", data: images.blue!() }], maxTokens: 8, temperature: 0 });
    expect(c.timings.reusedTokens).toBe(imageEnd - 16);
    // and the reused cache gives what a fresh decode gives
    await ctx.clearCache();
    const fresh = await ctx.complete(follow, { media: [red], maxTokens: 8, temperature: 0 });
    expect(fresh.timings.reusedTokens).toBe(0);
    expect(fresh.text).toBe(b.text);
  });

  it("two pictures in one prompt, and the same bytes twice", async () => {
    const r1 = await ctx.complete(chatml(`${MEDIA_MARKER} and ${MEDIA_MARKER} once`), {
      media: [
        { type: "image", data: images.checker!() },
        { type: "image", data: images.checker!() },
      ],
      maxTokens: 6,
      temperature: 0,
    });
    expect(r1.timings.promptTokens).toBeGreaterThan(32);
    expect(r1.stopReason).toMatch(/maxTokens|eog/);
  });

  it("argument errors", async () => {
    const red = { type: "image" as const, data: images.red!() };
    await expect(ctx.complete(`${MEDIA_MARKER}${MEDIA_MARKER} x`, { media: [red] })).rejects.toThrow(/2 media markers .* but 1 media/);
    await expect(ctx.complete("no marker", { media: [red] })).rejects.toThrow(RangeError);
    await expect(ctx.complete(new Int32Array([1, 2]), { media: [red] })).rejects.toThrow(TypeError);
    await expect(ctx.complete(`${MEDIA_MARKER} x`, { media: [{ type: "video", data: red.data }] as never })).rejects.toThrow(
      /image.*audio/,
    );
    await expect(ctx.complete(`${MEDIA_MARKER} x`, { media: [{ type: "image", data: [1, 2] }] as never })).rejects.toThrow(/Uint8Array/);
    await expect(ctx.complete(`${MEDIA_MARKER} x`, { media: [{ type: "image", data: red.data, extra: 1 }] as never })).rejects.toThrow(
      /extra/,
    );
    await expect(ctx.complete(`x ${MEDIA_MARKER}`, { media: [red] })).rejects.toThrow(/text after its last medium/);
    await expect(ctx.complete(`${MEDIA_MARKER} x`, { media: [{ type: "audio", data: red.data }] })).rejects.toThrow(InvalidMediaError);
    await expect(model.loadProjector(projectorPath, { threads: 0 })).rejects.toThrow(RangeError);
    await expect(model.loadProjector(projectorPath, { thread: 2 } as never)).rejects.toThrow(/threads/);
  });

  it("disposing the projector and the model during a generation with a picture is safe", async () => {
    const m2 = await loadModel(real!, { projector: projectorPath });
    const c2 = await m2.createContext({ contextSize: 256 });
    const it2 = c2.generate(chatml(`${MEDIA_MARKER}Once upon a time`), {
      media: [{ type: "image", data: images.gradient!() }],
      maxTokens: 200,
    });
    const first = await it2.next();
    expect(first.done).toBe(false);
    await m2.projector!.dispose(); // the running prompt keeps the encoder alive
    const p = m2.dispose();
    let r = await it2.next();
    while (!r.done) r = await it2.next();
    expect(r.value.stopReason).toMatch(/abort|maxTokens|eog/);
    await p;
    expect(m2.disposed).toBe(true);
    // and before the picture is even decoded: a DisposedError or an aborted stream, never a crash
    const m3 = await loadModel(real!, { projector: projectorPath });
    const c3 = await m3.createContext({ contextSize: 256 });
    const it3 = c3.generate(chatml(`${MEDIA_MARKER}Once upon a time`), { media: [{ type: "image", data: images.wide!() }], maxTokens: 50 });
    const pending = it3.next();
    const gone = Promise.all([m3.projector!.dispose(), m3.dispose()]);
    const outcome = await pending.then(
      (x) => (x.done ? x.value.stopReason : "chunk"),
      (e: Error) => e.constructor.name,
    );
    expect(outcome).toMatch(/DisposedError|abort|chunk/);
    await it3.return(undefined as never).catch(() => undefined);
    await gone;
  });

  it("a model without a projector refuses media", async () => {
    const bare = await loadModel(real!);
    try {
      expect(bare.info.modalities).toEqual({ vision: false, audio: false });
      const c = await bare.createContext({ contextSize: 128 });
      await expect(c.complete(`${MEDIA_MARKER} x`, { media: [{ type: "image", data: images.red!() }] })).rejects.toThrow(LlamaError);
    } finally {
      await bare.dispose();
    }
  });
});
