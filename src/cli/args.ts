// Command-line parsing shared by every command: node:util parseArgs with typed options. A bad flag
// or value prints that command's usage and exits 2.
import { type ParseArgsConfig, parseArgs } from "node:util";

export class UsageError extends Error {}

export interface Command {
  name: string;
  /** one line for the command list */
  summary: string;
  /** the usage text shown by --help and after a usage error */
  usage: string;
  /** resolves to the exit code (undefined: 0) */
  run(argv: string[]): Promise<number | undefined>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs, strict, with --help; a parse failure becomes a UsageError. */
export function parse(
  argv: string[],
  options: Options,
  positionals = false,
): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: positionals,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A flag's value as an integer in [min, max], or the fallback when absent. */
export function intFlag(
  values: Record<string, unknown>,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== "string" || !/^-?\d+$/.test(raw) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A flag's value as a finite number in [min, max], or the fallback when absent. */
export function numberFlag(
  values: Record<string, unknown>,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}; got ${JSON.stringify(raw)}`);
  }
  return n;
}
