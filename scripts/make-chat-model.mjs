#!/usr/bin/env node
// A copy of a GGUF model with a chat template in its metadata (tokenizer.chat_template): the weights
// and every other key are copied unchanged, so the copy generates exactly what the original does.
// The tests use it to hold conversations with the real stories260K through real models' templates.
//
//   node scripts/make-chat-model.mjs IN.gguf OUT.gguf TEMPLATE.jinja
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { writeGguf, readGgufInfo, GgufValueType } = require(path.join(root, "dist", "index.js"));

/**
 * Writes `out`: `src` with `extra` metadata ({ key: string value }) added or replaced. `tokens`
 * ({ id: text }) renames vocabulary entries and makes them user-defined tokens (matched whole by the
 * tokenizer, as a real chat model's `<think>`): the weights are unchanged, only what those ids spell.
 */
export async function withStringMetadata(src, out, extra, tokens = {}) {
  const info = await readGgufInfo(src);
  const bytes = fs.readFileSync(src);
  const metadata = Object.entries(info.metadata)
    .filter(([key]) => !(key in extra) && key !== "general.alignment")
    .map(([key, value]) => ({ key, type: info.metadataTypes[key], arrayType: info.metadataArrayTypes[key], value }));
  for (const [id, text] of Object.entries(tokens)) {
    const texts = metadata.find((m) => m.key === "tokenizer.ggml.tokens");
    const types = metadata.find((m) => m.key === "tokenizer.ggml.token_type");
    texts.value = texts.value.map((t, i) => (i === Number(id) ? text : t));
    types.value = types.value.map((t, i) => (i === Number(id) ? 4 : t)); // LLAMA_TOKEN_TYPE_USER_DEFINED
  }
  for (const [key, value] of Object.entries(extra)) metadata.push({ key, type: GgufValueType.STRING, value });
  const tensors = info.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    typeId: t.type,
    bytes: bytes.subarray(info.dataOffset + t.offset, info.dataOffset + t.offset + t.sizeBytes),
  }));
  if (info.alignment !== 32) metadata.push({ key: "general.alignment", type: GgufValueType.UINT32, value: info.alignment });
  await writeGguf(out, { metadata, tensors, alignment: info.alignment });
}

/** Writes `out`: the model `src` with the chat template `template` (Jinja source). */
export function makeChatModel(src, template, out, tokens = {}) {
  return withStringMetadata(src, out, { "tokenizer.chat_template": template }, tokens);
}

/**
 * stories260K's rarest single characters, respelled as a thinking model's tags (for the reasoning
 * budget, which llama.cpp matches token by token: with the tiny vocabulary's own pieces, "<think>"
 * inside a prompt and alone tokenize differently).
 */
export const THINK_TOKENS = { 507: "<think>", 510: "</think>" };

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [src, out, template] = process.argv.slice(2);
  if (!src || !out || !template) {
    console.error("usage: node scripts/make-chat-model.mjs IN.gguf OUT.gguf TEMPLATE.jinja");
    process.exit(2);
  }
  await withStringMetadata(src, out, { "tokenizer.chat_template": fs.readFileSync(template, "utf8") });
  console.log(`wrote ${out}`);
}
