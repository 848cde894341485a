// Argument checks with messages that name the option, the allowed range and the value received.

export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v == null) return String(v);
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

export function checkObject(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object") throw new TypeError(`${name} must be an object; got ${describe(v)}`);
  return v as Record<string, unknown>;
}

export function checkInt(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number") throw new TypeError(`${name} must be a number; got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}]; got ${describe(v)}`);
  }
  return v;
}

export function checkNumber(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number") throw new TypeError(`${name} must be a number; got ${describe(v)}`);
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new RangeError(`${name} must be a finite number in [${min}, ${max}]; got ${describe(v)}`);
  }
  return v;
}

export function checkBool(name: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new TypeError(`${name} must be a boolean; got ${describe(v)}`);
  return v;
}

export function checkFunction<T>(name: string, v: unknown): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "function") throw new TypeError(`${name} must be a function; got ${describe(v)}`);
  return v as T;
}

export function checkSignal(name: string, v: unknown): AbortSignal | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof AbortSignal)) throw new TypeError(`${name} must be an AbortSignal; got ${describe(v)}`);
  return v;
}

export function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    throw new RangeError(`${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}; got ${describe(v)}`);
  }
  return v as T;
}

/** Token ids as an Int32Array, each an integer in [0, vocabSize). */
export function checkTokens(name: string, v: unknown, vocabSize: number): Int32Array {
  let arr: ArrayLike<unknown>;
  if (v instanceof Int32Array) arr = v;
  else if (Array.isArray(v) || v instanceof Uint32Array) arr = v as ArrayLike<unknown>;
  else throw new TypeError(`${name} must be an Int32Array or an array of token ids; got ${describe(v)}`);
  for (let i = 0; i < arr.length; i++) {
    const t = arr[i];
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new RangeError(`${name}[${i}]: token id ${describe(t)} is not an integer in [0, ${vocabSize})`);
    }
  }
  return v instanceof Int32Array ? v : Int32Array.from(arr as ArrayLike<number>);
}
