// LoRA adapters: model.loadLora(path) → LoraAdapter; applied with createContext({ loras }) and
// ctx.setLoras(). The file is validated here (GGUF header, general.type, architecture, tensor
// pairs and shapes against the model's) before llama.cpp reads it.
import type { NativeLoraAdapter } from "./binding";
import { DisposedError, InvalidModelFileError } from "./errors";
import { type GgufInfo, readGgufInfo } from "./gguf";
import { defineOptions, v } from "./options";
import { describe } from "./validate";

const LORA_TOKEN = Symbol("LoraAdapter");

/** One adapter to apply and its scale (createContext({ loras }), ctx.setLoras()). */
export interface LoraSpec {
  adapter: LoraAdapter;
  /** How strongly the adapter applies: 0 = not at all, 1 = as trained. Default 1; a finite number in [-1e6, 1e6]. */
  scale?: number;
}

/** A LoRA adapter loaded for one model (model.loadLora()). */
export class LoraAdapter {
  /** The adapter file. */
  readonly path: string;
  /** The adapter's GGUF metadata, as llama.cpp read it (every value as a string). */
  readonly metadata: Readonly<Record<string, string>>;
  /** @internal the model it was loaded for */
  readonly owner: object;
  #native: NativeLoraAdapter | undefined;

  /** @internal use model.loadLora() */
  constructor(native: NativeLoraAdapter, path: string, owner: object, token: symbol) {
    if (token !== LORA_TOKEN) throw new TypeError("use model.loadLora() to load a LoRA adapter");
    this.#native = native;
    this.path = path;
    this.owner = owner;
    this.metadata = Object.freeze(native.meta());
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /** @internal */
  get native(): NativeLoraAdapter {
    if (!this.#native) throw new DisposedError("LoRA adapter");
    return this.#native;
  }

  /**
   * Lets go of the adapter. Contexts that apply it keep using it until their adapters change (the
   * weights are freed with the last of them), so disposing an adapter in use is safe. Idempotent.
   */
  dispose(): Promise<void> {
    this.#native?.dispose();
    this.#native = undefined;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** @internal */
export function newLoraAdapter(native: NativeLoraAdapter, path: string, owner: object): LoraAdapter {
  return new LoraAdapter(native, path, owner, LORA_TOKEN);
}

const parseLoraSpec = defineOptions<LoraSpec>("LoRA spec", {
  adapter: (value, name) => {
    if (!(value instanceof LoraAdapter))
      throw new TypeError(`${name} must be a LoraAdapter (from model.loadLora()); got ${describe(value)}`);
    return value;
  },
  scale: v.number(-1e6, 1e6),
});

/**
 * @internal Checks a list of { adapter, scale } for the model `owner` and returns the native pairs.
 * `name` names the list in errors ("loras").
 */
export function toNativeLoras(name: string, loras: unknown, owner: object): [NativeLoraAdapter, number][] {
  if (!Array.isArray(loras)) throw new TypeError(`${name} must be an array of { adapter, scale }; got ${describe(loras)}`);
  const seen = new Set<LoraAdapter>();
  return loras.map((item, i) => {
    const o = parseLoraSpec(item);
    const adapter = o.adapter;
    if (adapter === undefined) throw new TypeError(`${name}[${i}].adapter is required`);
    if (adapter.owner !== owner) throw new TypeError(`${name}[${i}].adapter was loaded for another model`);
    if (seen.has(adapter)) throw new TypeError(`${name}[${i}].adapter is listed twice`);
    seen.add(adapter);
    return [adapter.native, o.scale ?? 1];
  });
}

/**
 * @internal What model.loadLora() runs before llama.cpp reads the file: the checks of readGgufInfo()
 * and those llama.cpp makes (llama-adapter.cpp), with the adapter named in each failure:
 * general.type "adapter", adapter.type "lora", the model's architecture, tensors in lora_a/lora_b
 * pairs of base tensors the model has, with shapes that fit them. Throws InvalidModelFileError.
 */
export async function validateLoraFile(path: string, model: GgufInfo): Promise<void> {
  const info = await readGgufInfo(path);
  const fail = (msg: string): never => {
    throw new InvalidModelFileError(path, `not a LoRA adapter for ${model.path}: ${msg}`);
  };
  const md = info.metadata;
  if (md["general.type"] !== "adapter") fail(`general.type is ${JSON.stringify(md["general.type"])}, not "adapter"`);
  if (md["adapter.type"] !== "lora") fail(`adapter.type is ${JSON.stringify(md["adapter.type"])}, not "lora"`);
  if (info.architecture !== model.architecture) {
    fail(`its architecture is ${JSON.stringify(info.architecture)}; the model's is ${JSON.stringify(model.architecture)}`);
  }
  const alpha = md["adapter.lora.alpha"];
  if (alpha !== undefined && typeof alpha !== "number") fail("adapter.lora.alpha must be a number");
  const base = new Map(model.tensors.map((t) => [t.name, t]));
  const pairs = new Map<string, { a?: number[]; b?: number[] }>();
  for (const t of info.tensors) {
    const m = /^(.*)\.lora_(a|b)$/.exec(t.name);
    if (!m) fail(`tensor ${t.name} is not a lora_a or lora_b tensor`);
    const [, name, ab] = m as RegExpExecArray;
    const p = pairs.get(name!) ?? {};
    p[ab as "a" | "b"] = t.shape;
    pairs.set(name!, p);
  }
  if (pairs.size === 0) fail("it holds no LoRA tensors");
  for (const [name, { a, b }] of pairs) {
    if (!a || !b) fail(`tensor ${name} has ${a ? "lora_a" : "lora_b"} but not ${a ? "lora_b" : "lora_a"}`);
    const t = base.get(name);
    if (!t) fail(`tensor ${name} does not exist in the model`);
    const [a0, a1 = 1, ...ar] = a!;
    const [b0, b1 = 1, ...br] = b!;
    const [m0, m1 = 1] = t!.shape;
    if (ar.some((d) => d !== 1) || br.some((d) => d !== 1)) fail(`tensor ${name}: lora_a and lora_b must be matrices`);
    // llama-adapter.cpp: model ne[0] == a ne[0], model ne[1] == b ne[1], a ne[1] == b ne[0] (the rank)
    if (m0 !== a0 || m1 !== b1 || a1 !== b0) {
      fail(
        `tensor ${name}: lora_a is [${a!.join(", ")}] and lora_b [${b!.join(", ")}], which do not fit the model's [${t!.shape.join(", ")}]`,
      );
    }
  }
}
