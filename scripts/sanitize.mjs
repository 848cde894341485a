#!/usr/bin/env node
// npm run sanitize -- [test files...]
//
// Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer (GCC; llama.cpp, ggml and
// native/ all instrumented) into build-asan/, then runs the native-facing test files under it
// (default: test/native and test/model) with libasan/libubsan preloaded into every Node process.
// Fails on any AddressSanitizer report; UBSan reports are collected and summarized by source location
// with a count each, for the closing note.
// Leak detection is off: Node itself leaves allocations at exit; leaks are tested by RSS over
// thousands of cycles in test/native/leaks.test.ts instead.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const files = process.argv.slice(2).length ? process.argv.slice(2) : ["test/native", "test/model"];

const build = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs"), "--sanitize"], { stdio: "inherit", cwd: root });
if (build.status !== 0) process.exit(build.status ?? 1);
const binary = path.join(root, "build-asan", "Release", "llama_native.node");

const lib = (name) => spawnSync("gcc", [`-print-file-name=${name}`], { encoding: "utf8" }).stdout.trim();
const logDir = path.join(root, "build-asan", "reports");
fs.rmSync(logDir, { recursive: true, force: true });
fs.mkdirSync(logDir, { recursive: true });
const env = {
  ...process.env,
  LLAMA_NATIVE_BINARY: binary,
  LD_PRELOAD: [lib("libasan.so"), lib("libubsan.so")].join(":"),
  // reports go to files (one per process) as well as stderr, so child-process tests are covered too
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=${logDir}/asan`,
  UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=0:log_path=${logDir}/ubsan`,
  LLAMA_NATIVE_REQUIRE_REAL_MODEL: process.env.LLAMA_NATIVE_REQUIRE_REAL_MODEL ?? "0",
};
console.error(`[sanitize] running vitest on ${files.join(", ")} with ${path.relative(root, binary)}`);
const t0 = Date.now();
const r = spawnSync(process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", ...files], { stdio: "inherit", cwd: root, env });
const seconds = ((Date.now() - t0) / 1000).toFixed(0);

const reports = fs.readdirSync(logDir).map((f) => ({ f, text: fs.readFileSync(path.join(logDir, f), "utf8") }));
const asan = reports.filter((x) => x.f.startsWith("asan") && /ERROR: AddressSanitizer/.test(x.text));
const ubsan = new Map();
for (const x of reports.filter((x) => x.f.startsWith("ubsan"))) {
  for (const m of x.text.matchAll(/^(\S+:\d+:\d+): runtime error: (.*)$/gm)) {
    const key = `${m[1].replace(root + "/", "")}: ${m[2].replace(/0x[0-9a-f]+/g, "0x…").slice(0, 120)}`;
    ubsan.set(key, (ubsan.get(key) ?? 0) + 1);
  }
}
console.log(`\n[sanitize] vitest exit ${r.status} after ${seconds} s; AddressSanitizer reports: ${asan.length}; UBSan findings: ${ubsan.size} distinct`);
for (const x of asan) console.log(`--- ${x.f}\n${x.text.split("\n").slice(0, 30).join("\n")}`);
for (const [k, n] of [...ubsan].sort((a, b) => b[1] - a[1])) console.log(`  ubsan ×${n}  ${k}`);
process.exit(r.status !== 0 || asan.length ? 1 : 0);
