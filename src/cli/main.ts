// The llama-native command line: one module per command (bin/llama-native.mjs only calls main()).
import { type Command, UsageError } from "./args";
import { bench } from "./bench";
import { build } from "./build";
import { chat } from "./chat";
import { complete, generate } from "./complete";
import { embed } from "./embed";
import { info } from "./info";
import { inspect } from "./inspect";
import { quantize } from "./quantize";
import { rpcServer } from "./rpc-server";
import { serve } from "./serve";
import { system } from "./system";
import { tokenize } from "./tokenize";

const COMMANDS: readonly Command[] = [
  chat,
  complete,
  serve,
  embed,
  tokenize,
  inspect,
  quantize,
  rpcServer,
  bench,
  system,
  build,
  generate,
  info,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: llama-native <command> [options]   (llama-native <command> --help for its options)",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    (name === undefined ? console.error : console.log)(overview());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`llama-native: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    if (cmd.name !== "build") {
      console.log(`usage: ${cmd.usage}`);
      return 0;
    }
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`llama-native ${cmd.name}: ${e.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    console.error(`llama-native ${cmd.name}: ${(e as Error).message}`);
    return 1;
  }
}
