// responseFormat: 20 varied JSON schemas (test/fixtures/schemas/response-formats.json), each converted
// by llama.cpp's json_schema_to_grammar; whatever the model samples under the grammar must parse and
// validate. The validator is ajv (a JSON Schema implementation nobody here wrote). Sampled at
// temperature 1 with several seeds, so the grammar, not greedy luck, is what keeps the output valid.
import fs from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Context, type Model, jsonSchemaToGrammar, loadModel } from "../../dist/index.mjs";
import { realModelPath, root } from "../helpers";

const { schemas } = JSON.parse(fs.readFileSync(path.join(root, "test", "fixtures", "schemas", "response-formats.json"), "utf8")) as {
  schemas: Record<string, object>;
};
const ajv = new Ajv2020({ strict: false, validateFormats: false });
// ajv's "date" format, written out (ajv-formats is not a dependency): what llama.cpp's grammar produces
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

let model: Model;
let ctx: Context;

beforeAll(async () => {
  model = await loadModel(realModelPath() ?? inject("tinyModel"));
  ctx = await model.createContext({ contextSize: 1024 });
});
afterAll(async () => {
  await model?.dispose();
});

describe("responseFormat on complete()", () => {
  it("has 20 schemas", () => expect(Object.keys(schemas)).toHaveLength(20));

  for (const [name, schema] of Object.entries(schemas)) {
    it(`${name}: every sampled answer parses and validates`, async () => {
      const validate = ajv.compile(schema);
      for (const seed of [1, 2, 3]) {
        const r = await ctx.complete("Once upon a time", {
          responseFormat: { type: "json_schema", schema },
          temperature: 1,
          seed,
          maxTokens: 400,
        });
        expect(r.stopReason, r.text).toBe("eog");
        expect(r.json, r.text).toEqual(JSON.parse(r.text));
        expect(validate(r.json), `${r.text}\n${JSON.stringify(validate.errors)}`).toBe(true);
        if (name === "format-date") expect((r.json as { when: string }).when).toMatch(DATE);
      }
    });
  }

  it("json_object without a schema yields an object; generate() reports it on its result", async () => {
    const it = ctx.generate("Once upon a time", { responseFormat: { type: "json_object" }, temperature: 1, seed: 5, maxTokens: 400 });
    let text = "";
    let r = await it.next();
    while (!r.done) {
      text += r.value.text;
      r = await it.next();
    }
    expect(r.value.json).toEqual(JSON.parse(text));
    expect(typeof r.value.json).toBe("object");
  });

  it("a cut-off answer is a LlamaError that says so", async () => {
    await expect(
      ctx.complete("Once upon a time", { responseFormat: { type: "json_schema", schema: schemas["nested-object"]! }, maxTokens: 2 }),
    ).rejects.toThrow(/not JSON \(it was cut off: maxTokens\)/);
  });

  it("grammar and responseFormat together are refused", async () => {
    await expect(ctx.complete("x", { grammar: 'root ::= "a"', responseFormat: { type: "json_object" } })).rejects.toThrow(TypeError);
  });

  it("jsonSchemaToGrammar gives llama.cpp's GBNF, and refuses what it cannot convert", () => {
    expect(jsonSchemaToGrammar({ type: "integer" })).toMatch(/^root ::= /m);
    expect(() => jsonSchemaToGrammar({ $ref: "#/$defs/missing" })).toThrow();
    expect(() => jsonSchemaToGrammar(42 as never)).toThrow(TypeError);
  });
});
