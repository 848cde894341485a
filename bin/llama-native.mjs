#!/usr/bin/env node
// The llama-native command line; each command is a module in src/cli/ (llama-native --help lists them).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { main } = require("../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
