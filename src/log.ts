// llama.cpp's log, routed to a level and an optional listener instead of raw stderr.
import { binding } from "./binding";

export type LogLevel = "silent" | "error" | "warn" | "info" | "debug";
const LEVELS: readonly LogLevel[] = ["silent", "error", "warn", "info", "debug"];

export type Logger = (level: Exclude<LogLevel, "silent">, text: string) => void;

/**
 * Sets how much of llama.cpp's log is passed on (default "error"). The level is process-wide,
 * because llama.cpp's logger is.
 */
export function setLogLevel(level: LogLevel): void {
  const n = LEVELS.indexOf(level);
  if (n < 0) throw new RangeError(`log level must be one of ${LEVELS.join(", ")}; got ${String(level)}`);
  binding().setLogLevel(n);
}

/**
 * Receives llama.cpp's log lines at or above the level instead of stderr; `null` restores stderr.
 * Called on the JS thread; each worker_thread may set its own.
 */
export function setLogger(logger: Logger | null): void {
  if (logger !== null && typeof logger !== "function") throw new TypeError("logger must be a function or null");
  binding().setLogger(logger ? (n, text) => logger(LEVELS[n] as Exclude<LogLevel, "silent">, text) : null);
}
