// Public options objects: each entry point declares its options once, as a spec with one validator
// per key of its options interface (the compiler refuses a spec that misses or adds a key), and
// parses them here. Parsing is strict: an unknown key is a TypeError naming it and, when one is
// close, the known key it was probably meant to be. A typo must never silently change what runs.
import { type NativeEntry, NATIVE_PARAMS, type ParamSpec } from "./native-params";
import { checkBool, checkFunction, checkInt, checkNumber, checkOneOf, checkSignal, describe } from "./validate";

/** Checks one value (never undefined: absent keys are skipped) and returns it, typed. */
export type Validator<T> = (value: unknown, name: string) => T;

/** One validator per key of T, optional keys included. */
export type OptionsSpec<T> = { readonly [K in keyof T]-?: Validator<Exclude<T[K], undefined>> };

/** The validated options: each key's value, or undefined when it was not given. */
export type Parsed<T> = { [K in keyof T]-?: Exclude<T[K], undefined> | undefined };

const registry = new Map<string, readonly string[]>();

/**
 * Declares the options of one public entry point (`where` names it in errors, e.g. "generate
 * options") and returns its parser.
 */
export function defineOptions<T>(where: string, spec: OptionsSpec<T>): (value: unknown) => Parsed<T> {
  const keys = Object.keys(spec);
  registry.set(where, keys);
  return (value: unknown) => parseOptions<T>(where, value, spec, keys);
}

/** @internal every declared options object and its keys (for the test that walks them all) */
export function declaredOptions(): ReadonlyMap<string, readonly string[]> {
  return registry;
}

function parseOptions<T>(where: string, value: unknown, spec: OptionsSpec<T>, keys: readonly string[]): Parsed<T> {
  if (value === undefined) value = {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object; got ${describe(value)}`);
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(spec, key)) throw unknownKey(where, key, keys);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = given[key];
    out[key] = v === undefined ? undefined : (spec as Record<string, Validator<unknown>>)[key]!(v, key);
  }
  return out as Parsed<T>;
}

function unknownKey(where: string, key: string, known: readonly string[]): TypeError {
  const guess = closest(key, known);
  return new TypeError(
    `unknown option ${JSON.stringify(key)} in ${where}` +
      (guess ? `; did you mean ${JSON.stringify(guess)}?` : `; known options: ${known.join(", ")}`),
  );
}

/** The known name a misspelling most likely meant: same letters ignoring case, or a few edits away. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    if (k.toLowerCase() === lower) return k;
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  // an edit or two in a short name, a few more in a long one; beyond that it is another word
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Edit distance where a swap of two neighbouring letters counts as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      cur[j] = d;
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

// ---- validators -------------------------------------------------------------------------------

const as = <T>(v: unknown) => v as T;

export const v = {
  bool: ((value, name) => checkBool(name, value)!) as Validator<boolean>,
  int:
    (min: number, max: number): Validator<number> =>
    (value, name) =>
      checkInt(name, value, min, max)!,
  number:
    (min: number, max: number): Validator<number> =>
    (value, name) =>
      checkNumber(name, value, min, max)!,
  oneOf:
    <C extends string>(choices: readonly C[]): Validator<C> =>
    (value, name) =>
      checkOneOf<C>(name, value, choices)!,
  signal: ((value, name) => checkSignal(name, value)!) as Validator<AbortSignal>,
  fn:
    <F>(): Validator<F> =>
    (value, name) =>
      checkFunction<F>(name, value)!,
  string: ((value, name) => {
    if (typeof value !== "string") throw new TypeError(`${name} must be a string; got ${describe(value)}`);
    return value;
  }) as Validator<string>,
  /** The range or choices one native parameter declares (src/native-params.ts), so the two cannot drift. */
  param<E extends NativeEntry>(entry: E, key: keyof (typeof NATIVE_PARAMS)[E]): Validator<never> {
    const spec = NATIVE_PARAMS[entry][key] as ParamSpec;
    switch (spec.type) {
      case "bool":
        return as(v.bool);
      case "int":
        return as(v.int(spec.min, spec.max));
      case "number":
        return as(v.number(spec.min, spec.max));
      case "oneOf":
        return as(v.oneOf(spec.choices));
      case "string":
        return as(v.string);
      default:
        throw new Error(`internal: no public validator for native ${spec.type} parameters`);
    }
  },
  /** Anything; the entry point checks it itself. */
  any:
    <T>(): Validator<T> =>
    (value) =>
      value as T,
};
