// Model metadata checks: what llama.cpp asserts on (and so would abort the process) rather than
// reports, refused before it sees the file.
import { InvalidModelFileError } from "../errors";
import { CompactArray, type GgufInfo, GgufValueType } from "./types";

// Bounds llama.cpp asserts on (GGML_ASSERT aborts the process) rather than reporting, at the
// vendored revision: src/llama-hparams.h LLAMA_MAX_LAYERS / LLAMA_MAX_EXPERTS, llama-model.cpp.
export const LLAMA_MAX_LAYERS = 512;
export const LLAMA_MAX_EXPERTS = 1024;

const NONE_TOKEN = [0xffffffff, -1]; // how converters store "no such token"

interface Duplicate {
  text: string;
  first: number;
  second: number;
}

function duplicateInStrings(tokens: readonly string[]): Duplicate | undefined {
  const seen = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) {
    const first = seen.get(tokens[i]!);
    if (first !== undefined) return { text: tokens[i]!, first, second: i };
    seen.set(tokens[i]!, i);
  }
  return undefined;
}

// The same over the token texts' bytes, as llama.cpp compares them (std::string keys): an
// open-addressing table of 32-bit FNV-1a hashes, the bytes compared when hashes meet. Typed arrays
// only, so that a 128k-token vocabulary costs ~2 MB here instead of a Map of 128k strings.
function duplicateInBytes(a: CompactArray): Duplicate | undefined {
  const { buf } = a;
  const starts = new Uint32Array(a.length); // offset of each text's length field
  let size = 1;
  while (size < a.length * 2) size *= 2;
  const slots = new Int32Array(size).fill(-1); // token index, or -1
  const hashes = new Uint32Array(size);
  // a text's length field is a u64 whose bounds were checked when the array was read (below 2^32
  // here); read as two u32, since a BigInt and a tuple per token made megabytes of garbage
  const lengthAt = (pos: number): number => buf.readUInt32LE(pos) + buf.readUInt32LE(pos + 4) * 2 ** 32;
  let pos = a.start;
  for (let i = 0; i < a.length; i++) {
    starts[i] = pos;
    const from = pos + 8;
    const to = from + lengthAt(pos);
    pos = to;
    let h = 0x811c9dc5;
    for (let j = from; j < to; j++) h = Math.imul(h ^ buf[j]!, 0x01000193);
    h >>>= 0;
    let slot = h & (size - 1);
    for (; slots[slot] !== -1; slot = (slot + 1) & (size - 1)) {
      if (hashes[slot] !== h) continue;
      const k = slots[slot]!;
      const kFrom = starts[k]! + 8;
      const kTo = kFrom + lengthAt(starts[k]!);
      if (buf.compare(buf, from, to, kFrom, kTo) === 0) return { text: buf.toString("utf8", from, to), first: k, second: i };
    }
    slots[slot] = i;
    hashes[slot] = h;
  }
  return undefined;
}

/**
 * Checks the metadata llama.cpp would abort on instead of rejecting: layer and expert counts out of
 * range, tokenizer arrays that disagree with the vocabulary, repeated token texts, special-token ids
 * outside it. Throws InvalidModelFileError. loadModel() runs the same checks on the file's bytes
 * (validateModelFile); the one difference: given a GgufInfo, token texts are compared as decoded
 * strings, so two byte strings that are not UTF-8 and decode alike count as one text here.
 */
export function checkModelMetadata(info: GgufInfo): void {
  const fail = (msg: string): never => {
    throw new InvalidModelFileError(info.path, msg);
  };
  const md = info.metadata;
  const arch = info.architecture;
  const int = (key: string): number | undefined => {
    if (!(key in md)) return undefined;
    const v = md[key];
    if (typeof v !== "number" || !Number.isInteger(v))
      fail(`${key} must be an integer (found ${typeof v === "object" ? "an array" : typeof v})`);
    return v as number;
  };
  if (arch !== undefined) {
    const layers = int(`${arch}.block_count`);
    if (layers !== undefined && (layers < 1 || layers > LLAMA_MAX_LAYERS)) {
      fail(`${arch}.block_count is ${layers}; llama.cpp supports 1 to ${LLAMA_MAX_LAYERS} layers`);
    }
    const experts = int(`${arch}.expert_count`);
    if (experts !== undefined && (experts < 0 || experts > LLAMA_MAX_EXPERTS)) {
      fail(`${arch}.expert_count is ${experts}; llama.cpp supports at most ${LLAMA_MAX_EXPERTS} experts`);
    }
    const used = int(`${arch}.expert_used_count`);
    if (used !== undefined && (used < 0 || used > (experts ?? 0))) {
      fail(`${arch}.expert_used_count is ${used}, more than the ${experts ?? 0} experts`);
    }
  }
  const tokens: unknown = md["tokenizer.ggml.tokens"];
  if (tokens !== undefined) {
    const compact = tokens instanceof CompactArray;
    if (
      compact
        ? tokens.elemType !== GgufValueType.STRING
        : !Array.isArray(tokens) ||
          info.metadataTypes["tokenizer.ggml.tokens"] !== GgufValueType.ARRAY ||
          tokens.some((t) => typeof t !== "string")
    ) {
      fail("tokenizer.ggml.tokens must be an array of strings");
    }
    const n = compact ? tokens.length : (tokens as unknown[]).length;
    // llama.cpp maps each text to its id and asserts (llama-vocab.cpp, GGML_ASSERT(id_to_token.size()
    // == token_to_id.size())) that no text repeats. Found by npm run fuzz.
    const dup = compact ? duplicateInBytes(tokens) : duplicateInStrings(tokens as string[]);
    if (dup) {
      fail(
        `tokenizer.ggml.tokens holds the text ${JSON.stringify(dup.text.slice(0, 40))} twice (tokens ${dup.first} and ${dup.second}); each token text must be unique`,
      );
    }
    // llama.cpp reads these arrays through raw float / int32 pointers, whatever their stored type.
    for (const [key, elem, name] of [
      ["tokenizer.ggml.scores", GgufValueType.FLOAT32, "f32"],
      ["tokenizer.ggml.token_type", GgufValueType.INT32, "i32"],
    ] as const) {
      const arr: unknown = md[key];
      if (arr === undefined) continue;
      const length = arr instanceof CompactArray || Array.isArray(arr) ? arr.length : undefined;
      const type = arr instanceof CompactArray ? arr.elemType : info.metadataArrayTypes[key];
      if (length !== n || type !== elem) {
        fail(
          `${key} must be an array of ${n} ${name} values, one per token (found ${length !== undefined ? `${length} entries of value type ${type}` : typeof arr})`,
        );
      }
    }
    for (const key of Object.keys(md)) {
      if (!/^tokenizer\.ggml\.[a-z_]+_token_id$/.test(key)) continue;
      const id = md[key];
      if (typeof id !== "number" || !Number.isInteger(id)) fail(`${key} must be an integer`);
      if (!NONE_TOKEN.includes(id as number) && ((id as number) < 0 || (id as number) >= n)) {
        fail(`${key} is ${id}, outside the vocabulary of ${n} tokens`);
      }
    }
  }
}
