// Generation flags, with llama.cpp's names where they mean the same.
import type { GenerationOptions } from "../index";
import { intFlag, numberFlag } from "./args";

export const SAMPLING_FLAGS = {
  "max-tokens": { type: "string", short: "n" },
  temperature: { type: "string" },
  temp: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  "repeat-penalty": { type: "string" },
  seed: { type: "string", short: "s" },
  stop: { type: "string", multiple: true },
  grammar: { type: "string" },
} as const;

export const SAMPLING_USAGE = `    -n, --max-tokens N    tokens to generate (default: until the model ends, or the context is full)
    --temperature, --temp T   0 = greedy (default 0.8)
    --top-k N, --top-p P, --min-p P, --repeat-penalty P   as llama.cpp (defaults 40, 0.95, 0.05, 1)
    -s, --seed N          sampling seed (default: random)
    --stop TEXT           end when TEXT appears (repeatable)
    --grammar GBNF        constrain the output with a GBNF grammar`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function samplingFromFlags(values: Values, fallbackMaxTokens?: number): GenerationOptions {
  const o: GenerationOptions = {};
  const maxTokens = intFlag(values, "max-tokens", fallbackMaxTokens, 0, 2 ** 31 - 1);
  if (maxTokens !== undefined) o.maxTokens = maxTokens;
  const temperature = numberFlag(values, "temperature", undefined, 0, 1e6) ?? numberFlag(values, "temp", undefined, 0, 1e6);
  if (temperature !== undefined) o.temperature = temperature;
  const topK = intFlag(values, "top-k", undefined, 0, 2 ** 31 - 1);
  if (topK !== undefined) o.topK = topK;
  const topP = numberFlag(values, "top-p", undefined, 0, 1);
  if (topP !== undefined) o.topP = topP;
  const minP = numberFlag(values, "min-p", undefined, 0, 1);
  if (minP !== undefined) o.minP = minP;
  const repeatPenalty = numberFlag(values, "repeat-penalty", undefined, 1e-6, 1e6);
  if (repeatPenalty !== undefined) o.repeatPenalty = repeatPenalty;
  const seed = intFlag(values, "seed", undefined, 0, 0xffffffff);
  if (seed !== undefined) o.seed = seed;
  if (Array.isArray(values.stop)) o.stop = values.stop.map(String);
  if (typeof values.grammar === "string") o.grammar = values.grammar;
  return o;
}
