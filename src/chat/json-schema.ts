// JSON Schema checks for tool-call arguments before a session's handler sees them, over the keywords
// llama.cpp's json_schema_to_grammar converts into grammars (so that what a grammar forced passes,
// and what a model wrote without one is caught): type, enum, const, properties, required,
// additionalProperties, items, prefixItems, minItems, maxItems, minLength, maxLength, pattern,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, anyOf, oneOf, allOf, $ref to #/$defs or
// #/definitions, and the formats date, time, date-time and uuid. Other keywords are not checked.
import { chatBinding } from "../chat-binding";
import { LlamaError } from "../errors";
import type { JsonSchema, ResponseFormat } from "../generation-types";
import { describe } from "../validate";

const FORMATS: Record<string, RegExp> = {
  date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
  time: /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{3})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/,
  "date-time": /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{3})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
};

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The problems of `value` against `schema`, each as "path: what"; empty when it conforms. */
export function checkJson(schema: JsonSchema, value: unknown, root: JsonSchema = schema, path = "$", depth = 0): string[] {
  if (depth > 64) return [`${path}: the schema nests deeper than 64 levels`];
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  if (typeof schema !== "object" || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const errors: string[] = [];
  const sub = (sch: unknown, v: unknown, p: string) => checkJson(sch as JsonSchema, v, root, p, depth + 1);
  if (typeof s.$ref === "string") {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(s.$ref);
    const target = m ? (root as Record<string, Record<string, unknown>>)[m[1]!]?.[decodeURIComponent(m[2]!)] : undefined;
    if (target === undefined) return [`${path}: unresolved $ref ${s.$ref}`];
    errors.push(...sub(target, value, path));
  }
  const t = typeOf(value);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const ok = types.some((ty) => ty === t || (ty === "number" && t === "integer"));
    if (!ok) return [...errors, `${path}: expected ${types.join(" or ")}, got ${t}`];
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => equal(e, value))) errors.push(`${path}: not one of ${JSON.stringify(s.enum)}`);
  if ("const" in s && !equal(s.const, value)) errors.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (t === "string") {
    const str = value as string;
    const len = [...str].length;
    if (typeof s.minLength === "number" && len < s.minLength) errors.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === "number" && len > s.maxLength) errors.push(`${path}: longer than ${s.maxLength}`);
    if (typeof s.pattern === "string") {
      let re: RegExp | undefined;
      try {
        re = new RegExp(s.pattern, "u");
      } catch {
        re = undefined;
      }
      if (re && !re.test(str)) errors.push(`${path}: does not match ${s.pattern}`);
    }
    if (typeof s.format === "string" && FORMATS[s.format] && !FORMATS[s.format]!.test(str)) errors.push(`${path}: not a ${s.format}`);
  }
  if (t === "number" || t === "integer") {
    const n = value as number;
    if (typeof s.minimum === "number" && n < s.minimum) errors.push(`${path}: below ${s.minimum}`);
    if (typeof s.maximum === "number" && n > s.maximum) errors.push(`${path}: above ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && n <= s.exclusiveMinimum) errors.push(`${path}: not above ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === "number" && n >= s.exclusiveMaximum) errors.push(`${path}: not below ${s.exclusiveMaximum}`);
  }
  if (t === "array") {
    const arr = value as unknown[];
    if (typeof s.minItems === "number" && arr.length < s.minItems) errors.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === "number" && arr.length > s.maxItems) errors.push(`${path}: more than ${s.maxItems} items`);
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : [];
    arr.forEach((item, i) => {
      if (i < prefix.length) errors.push(...sub(prefix[i], item, `${path}[${i}]`));
      else if (s.items !== undefined && !Array.isArray(s.items)) errors.push(...sub(s.items, item, `${path}[${i}]`));
    });
  }
  if (t === "object") {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    if (Array.isArray(s.required))
      for (const k of s.required as string[]) if (!(k in obj)) errors.push(`${path}: missing required property ${JSON.stringify(k)}`);
    for (const [k, v] of Object.entries(obj)) {
      const p = `${path}.${k}`;
      if (k in props) errors.push(...sub(props[k], v, p));
      else if (s.additionalProperties === false) errors.push(`${p}: not allowed (additionalProperties is false)`);
      else if (s.additionalProperties !== undefined && typeof s.additionalProperties === "object")
        errors.push(...sub(s.additionalProperties, v, p));
    }
  }
  if (Array.isArray(s.allOf)) for (const a of s.allOf) errors.push(...sub(a, value, path));
  if (Array.isArray(s.anyOf) && !s.anyOf.some((a) => sub(a, value, path).length === 0)) errors.push(`${path}: matches none of anyOf`);
  if (Array.isArray(s.oneOf)) {
    const n = s.oneOf.filter((a) => sub(a, value, path).length === 0).length;
    if (n !== 1) errors.push(`${path}: matches ${n} of oneOf, not exactly one`);
  }
  return errors;
}

/**
 * llama.cpp's JSON-Schema-to-GBNF converter (common/json-schema-to-grammar.cpp, what llama-server
 * uses for `response_format` and tool parameters): the grammar that admits exactly the JSON texts
 * the schema describes, within the keywords llama.cpp supports. Throws a TypeError when `schema` is
 * not a JSON Schema value, and a LlamaError naming the reason on one llama.cpp cannot convert (an
 * unresolvable $ref, an unsupported pattern). The converter's time grows fast with some shapes
 * (cubic in the number of optional properties): bound untrusted schemas first, as the server does.
 */
export function jsonSchemaToGrammar(schema: JsonSchema): string {
  if (typeof schema !== "boolean" && (schema === null || typeof schema !== "object" || Array.isArray(schema))) {
    throw new TypeError("schema must be a JSON Schema (an object or a boolean)");
  }
  let text: string;
  try {
    text = JSON.stringify(schema);
  } catch {
    throw new TypeError("schema must be JSON-serializable");
  }
  return chatBinding().jsonSchemaToGrammar(text);
}

/** The grammar of a response format, as llama-server builds it (json_object without a schema: any JSON object). */
export function responseFormatGrammar(rf: ResponseFormat): string {
  if (rf.type === "json_schema") return jsonSchemaToGrammar(rf.schema);
  if (rf.type === "json_object") return jsonSchemaToGrammar(rf.schema ?? { type: "object" });
  return "";
}

/** The parsed JSON answer of a generation with a response format; a LlamaError says why it is not JSON. */
export function parseJsonAnswer(text: string, stopReason: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const cut = stopReason === "maxTokens" || stopReason === "contextFull";
    throw new LlamaError(`the answer is not JSON (${cut ? `it was cut off: ${stopReason}` : (e as Error).message})`);
  }
}

/** Validates a responseFormat option. */
export function checkResponseFormat(value: unknown, name: string): ResponseFormat {
  if (value === null || typeof value !== "object")
    throw new TypeError(`${name} must be { type: "text" | "json_object" | "json_schema", ... }; got ${describe(value)}`);
  const r = value as { type?: unknown; schema?: unknown; name?: unknown };
  const schemaOk = (s: unknown) => typeof s === "boolean" || (s !== null && typeof s === "object" && !Array.isArray(s));
  switch (r.type) {
    case "text":
      return { type: "text" };
    case "json_object":
      if (r.schema !== undefined && !schemaOk(r.schema)) throw new TypeError(`${name}.schema must be a JSON Schema object`);
      return r.schema === undefined ? { type: "json_object" } : { type: "json_object", schema: r.schema as JsonSchema };
    case "json_schema":
      if (!schemaOk(r.schema)) throw new TypeError(`${name}.schema must be a JSON Schema object (json_schema needs one)`);
      return { type: "json_schema", schema: r.schema as JsonSchema, ...(typeof r.name === "string" ? { name: r.name } : {}) };
    default:
      throw new RangeError(`${name}.type must be "text", "json_object" or "json_schema"; got ${describe(r.type)}`);
  }
}
