// End to end against llama-server: stories260K with real models' chat templates added to its
// metadata, the requests and answers recorded from llama-server built from the vendored tree
// (test/fixtures/oracles/chat-e2e.json, by scripts/record-chat-e2e.mjs, which keeps each command).
// Greedy ctx.chatComplete must give the same content, reasoning and tool calls, and the same
// number of tokens. The requests are mapped to chat options by the server's own request parser.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../../dist/index.mjs";
import { chatFromBody } from "../../dist/server/requests.js";
import { logprobTolerance, realModelPath, requireRealModel, root } from "../helpers";

interface Case {
  template: string;
  kind: string;
  request: Record<string, unknown>;
  finishReason: string;
  message: { content: string | null; reasoning: string; toolCalls: { name: string; arguments: string }[] };
  completionTokens: number;
  logprobs?: { id: number; logprob: number; top: { id: number; logprob: number }[] }[];
  thinkTokens: boolean;
}
// logprobs and sampled tokens depend on the SIMD width of the kernels (scripts/simd-class.mjs): the
// recording of this CPU's class
const simd = await import(path.join(root, "scripts", "simd-class.mjs"));
const oracleFile: string = simd.oracleFileFor(path.join(root, "test", "fixtures", "oracles"), "chat-e2e");
const oracle: { modelSha256: string; cases: Case[]; simd?: string; cpu?: string } = JSON.parse(fs.readFileSync(oracleFile, "utf8"));
const modelPath = realModelPath();
const FINISH: Record<string, string> = { eog: "stop", stop: "stop", maxTokens: "length", contextFull: "length", toolCalls: "tool_calls" };

describe.runIf(modelPath || requireRealModel)("chat against llama-server (recorded)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-e2e-"));
  const files = new Map<string, string>();
  beforeAll(async () => {
    const { makeChatModel, THINK_TOKENS } = await import(path.join(root, "scripts", "make-chat-model.mjs"));
    for (const t of new Set(oracle.cases.map((c) => c.template))) {
      const file = path.join(dir, `${t}.gguf`);
      await makeChatModel(
        modelPath!,
        fs.readFileSync(path.join(root, "vendor", "llama.cpp", "models", "templates", `${t}.jinja`), "utf8"),
        file,
        oracle.cases.some((c) => c.template === t && c.thinkTokens) ? THINK_TOKENS : {},
      );
      files.set(t, file);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("was recorded on a CPU of this SIMD class (logprobs and sampled tokens depend on it)", () => {
    expect(
      simd.recordedClass(oracle),
      `${path.basename(oracleFile)} was recorded on ${simd.recordedClass(oracle)} CPUs and this one is ${simd.simdClass()}: record this class with node scripts/record-chat-e2e.mjs`,
    ).toBe(simd.simdClass());
  });

  it("covers several templates and every kind of request", () => {
    expect(new Set(oracle.cases.map((c) => c.template)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(oracle.cases.map((c) => c.kind))).toEqual(
      new Set(["plain", "turns", "toolRequired", "jsonSchema", "budgetUnlimited", "budget0", "budget6", "logprobs"]),
    );
  });

  it("the reasoning budget changed llama-server's answer (so the budget cases can fail)", () => {
    const budget = (kind: string) => oracle.cases.find((c) => c.kind === kind)!.message;
    expect(budget("budget6")).not.toEqual(budget("budgetUnlimited"));
    expect(budget("budget6").content).not.toBe("");
  });

  for (const c of oracle.cases) {
    it(`${c.template} ${c.kind}: the same answer as llama-server`, async () => {
      const model = await loadModel(files.get(c.template)!);
      try {
        const ctx = await model.createContext({ contextSize: 2048, threads: 1 });
        const { messages, options } = chatFromBody(c.request, model.vocab.size, 2048);
        const r = await ctx.chatComplete(messages, options);
        // greedy text can differ between CPU models of one SIMD class (scripts/simd-class.mjs): where
        // llama-server on this CPU answers as we do, `node scripts/record-chat-e2e.mjs --this-cpu`
        // records this model's answers
        expect(
          r.message.content ?? null,
          `${path.basename(oracleFile)} (recorded on ${oracle.cpu ?? "an AVX-512 CPU"}; this is ${simd.cpuId()})`,
        ).toBe(c.message.content === "" && r.message.content === null ? null : c.message.content);
        expect(r.message.reasoning ?? "").toBe(c.message.reasoning);
        expect((r.message.toolCalls ?? []).map((t) => ({ name: t.name, arguments: t.rawArguments }))).toEqual(c.message.toolCalls);
        expect(FINISH[r.stopReason]).toBe(c.finishReason);
        // llama-server's completion_tokens counts the end-of-generation token it sampled; generatedTokens does not
        expect(r.timings.generatedTokens + (r.stopReason === "eog" ? 1 : 0)).toBe(c.completionTokens);
        if (c.logprobs) {
          expect(r.logprobs!.map((l) => l.token)).toEqual(c.logprobs.map((l) => l.id));
          r.logprobs!.forEach((l, i) => {
            expect(Math.abs(l.logprob - c.logprobs![i]!.logprob)).toBeLessThan(logprobTolerance);
            expect(l.top.map((t) => t.token)).toEqual(c.logprobs![i]!.top.map((t) => t.id));
            for (const [j, t] of l.top.entries())
              expect(Math.abs(t.logprob - c.logprobs![i]!.top[j]!.logprob)).toBeLessThan(logprobTolerance);
          });
        }
      } finally {
        await model.dispose();
      }
    });
  }
});
