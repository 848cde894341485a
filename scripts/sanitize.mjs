#!/usr/bin/env node
// npm run sanitize -- [test files...]          (default: test/native and test/model)
//
// What a passing run proves, in order (each step fails the run):
// 1. Build: the addon with AddressSanitizer + UndefinedBehaviorSanitizer (GCC) into build-asan/. The
//    flags are CMake options of CMakeLists.txt (LLAMA_NATIVE_SANITIZE) that reach every target.
// 2. Objects: every object that goes into the addon (native/, llama.cpp src/, common/ when linked,
//    ggml C and C++) references __asan_* symbols, i.e. was instrumented; those without any
//    __ubsan_handle_* call are listed (UBSan only calls out where a checked operation is left).
// 3. Control: in child processes, the sanitize-only entry _sanitizerControl plants a heap overflow
//    and a signed overflow in a C++ file built with the same options; both reports must appear.
// 4. Suite: vitest on the test files with libasan/libubsan preloaded into every Node process (child
//    processes too), reports written to build-asan/reports/. Any AddressSanitizer report or UBSan
//    finding fails the run, except UBSan entries listed with a reason in scripts/ubsan.supp.
// Leak detection is off: Node itself leaves allocations at exit; leaks are tested by RSS over
// thousands of cycles in test/native/leaks.test.ts instead.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkObjects } from "./object-check.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const files = process.argv.slice(2).length ? process.argv.slice(2) : ["test/native", "test/model"];
const buildDir = path.join(root, "build-asan");
const log = (...a) => console.error("[sanitize]", ...a);
const fail = (msg) => {
  console.error(`[sanitize] FAILED: ${msg}`);
  process.exit(1);
};

// 1. build
const t0 = Date.now();
const build = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs"), "--sanitize"], { stdio: "inherit", cwd: root });
if (build.status !== 0) process.exit(build.status ?? 1);
log(`build took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const binary = path.join(buildDir, "Release", "llama_native.node");

// 2. objects
const check = checkObjects(buildDir, {
  loose: /CMakeFiles\/llama_native\.dir\/.*\.o$/,
  require: [{ name: "AddressSanitizer", prefix: "__asan_" }],
  report: [{ name: "UBSan", prefix: "__ubsan_handle_" }],
});
for (const l of check.lines) log(l);
for (const o of ["native/", "llama.cpp src/", "ggml"]) {
  if (!check.objects.some((x) => x.origin === o)) check.failures.push(`no object from ${o} found under build-asan/`);
}
if (check.failures.length) fail(`not instrumented:\n  ${check.failures.join("\n  ")}`);

// Environment of every sanitized Node process. UBSan keeps going after a finding (all of them are
// collected and listed); AddressSanitizer stops the process at its first report.
// Where reports go: with both GCC runtimes loaded, libubsan's start-up call to
// __sanitizer_set_report_path binds to libasan's copy (preloaded first), so UBSan's log_path becomes
// the path of ASan's reports and UBSan itself keeps writing to stderr. Hence one log_path for both
// (ASan reports land in <dir>/san.<pid>), and UBSan findings are read from stderr: the suite's
// (tee'd below) and, in the crash tests' child processes, the test's own (UBSan's halt_on_error=1
// there would make them fail; see UBSAN_HALT).
const lib = (name) => spawnSync("gcc", [`-print-file-name=${name}`], { encoding: "utf8" }).stdout.trim();
const supp = path.join(root, "scripts", "ubsan.supp");
const sanitizerEnv = (logDir) => ({
  ...process.env,
  LLAMA_NATIVE_BINARY: binary,
  // tests that measure memory (test/native/leaks.test.ts) run fewer cycles and skip their RSS bounds:
  // ASan's allocator keeps freed memory in quarantine, and each cycle is ~20x slower
  LLAMA_NATIVE_SANITIZED: "1",
  LD_PRELOAD: [lib("libasan.so"), lib("libubsan.so")].join(":"),
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=${logDir}/san`,
  UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=${process.env.UBSAN_HALT ? 1 : 0}:report_error_type=1:suppressions=${supp}:log_path=${logDir}/san`,
});
const readReports = (dir) => fs.readdirSync(dir).map((f) => ({ f, text: fs.readFileSync(path.join(dir, f), "utf8") }));

// 3. control
const controlDir = path.join(buildDir, "reports-control");
const controls = [
  { what: "heap-overflow", pattern: /ERROR: AddressSanitizer: heap-buffer-overflow[\s\S]*sanitizer_control\.cpp/ },
  { what: "signed-overflow", pattern: /sanitizer_control\.cpp:\d+:\d+: runtime error: signed integer overflow/ },
];
for (const c of controls) {
  fs.rmSync(controlDir, { recursive: true, force: true });
  fs.mkdirSync(controlDir, { recursive: true });
  const code = `require(${JSON.stringify(binary)})._sanitizerControl(${JSON.stringify(c.what)})`;
  const r = spawnSync(process.execPath, ["-e", code], { env: sanitizerEnv(controlDir), encoding: "utf8" });
  const hit = [...readReports(controlDir), { f: "stderr", text: r.stderr }].find((x) => c.pattern.test(x.text));
  if (!hit)
    fail(
      `control '${c.what}' was not reported (exit ${r.status}); a run that cannot see a planted fault proves nothing.\n${r.stderr.slice(-2000)}`,
    );
  const first = hit.text.split("\n").find((l) => /ERROR: AddressSanitizer|runtime error/.test(l));
  log(
    `control ${c.what}: reported (${first
      .replace(/^==\d+==/, "")
      .trim()
      .slice(0, 140)})`,
  );
}

// 4. suite
// (LLAMA_NATIVE_SANITIZE_REPORTS: another folder, for two runs at once on one build)
const logDir = process.env.LLAMA_NATIVE_SANITIZE_REPORTS
  ? path.resolve(process.env.LLAMA_NATIVE_SANITIZE_REPORTS)
  : path.join(buildDir, "reports");
fs.rmSync(logDir, { recursive: true, force: true });
fs.mkdirSync(logDir, { recursive: true });
const env = { ...sanitizerEnv(logDir), LLAMA_NATIVE_REQUIRE_REAL_MODEL: process.env.LLAMA_NATIVE_REQUIRE_REAL_MODEL ?? "0" };
log(`running vitest on ${files.join(", ")} with ${path.relative(root, binary)}`);
const t1 = Date.now();
const r = spawnSync(
  process.execPath,
  [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--testTimeout=600000", "--hookTimeout=600000", ...files],
  {
    stdio: ["inherit", "inherit", "pipe"],
    cwd: root,
    env,
    maxBuffer: 1 << 30,
    encoding: "utf8",
  },
);
process.stderr.write(r.stderr ?? "");
const seconds = ((Date.now() - t1) / 1000).toFixed(0);

const reports = readReports(logDir);
const asan = reports.filter((x) => /ERROR: AddressSanitizer/.test(x.text));
const ubsan = new Map();
for (const x of [...reports, { f: "stderr", text: r.stderr ?? "" }]) {
  for (const m of x.text.matchAll(/^(\S+:\d+:\d+): runtime error: (.*)$/gm)) {
    const key = `${m[1].replace(root + "/", "")}: ${m[2].replace(/0x[0-9a-f]+/g, "0x…").slice(0, 120)}`;
    ubsan.set(key, (ubsan.get(key) ?? 0) + 1);
  }
}
console.log(
  `\n[sanitize] vitest exit ${r.status} after ${seconds} s; AddressSanitizer reports: ${asan.length}; UBSan findings: ${ubsan.size} distinct`,
);
for (const x of asan) console.log(`--- ${x.f}\n${x.text.split("\n").slice(0, 40).join("\n")}`);
for (const [k, n] of [...ubsan].sort((a, b) => b[1] - a[1])) console.log(`  ubsan ×${n}  ${k}`);
process.exit(r.status !== 0 || asan.length || ubsan.size ? 1 : 0);
