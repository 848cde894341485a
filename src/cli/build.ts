// llama-native build: a source build of the addon (scripts/build.mjs, which parses its own flags).
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { Command } from "./args";

export const build: Command = {
  name: "build",
  summary: "build the addon from the vendored llama.cpp source",
  usage: `llama-native build [--gpu cpu|cuda|metal|vulkan] [--cuda-arch 90] [--debug]
    Builds the addon from the vendored llama.cpp source (needs cmake >= 3.19 and a C++17 compiler;
    LLAMA_NATIVE_GPU=<backend> works too).`,
  async run(argv) {
    const script = path.join(__dirname, "..", "..", "scripts", "build.mjs");
    const r = spawnSync(process.execPath, [script, ...argv], { stdio: "inherit" });
    return r.status ?? 1;
  },
};
