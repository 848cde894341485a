#!/usr/bin/env node
// npm run fuzz -- [--seconds 60] [--only gguf,tokenize,grammar,state,chat_template,chat_parse,speculative,rpc,media,http] [--seed S]
//
// Builds llama.cpp (the vendored tree) with clang, AddressSanitizer and libFuzzer instrumentation
// into fuzz/build (cached), links the harnesses in fuzz/*.cpp, and runs each for --seconds from the
// seed corpus in fuzz/corpus/<name> (committed) plus what earlier runs found (fuzz/.work, ignored).
// Crashing inputs are kept as fuzz/.work/<name>/crash-*. For GGUF crashes it then asks llama-native's
// own validation (validateModelFile: what loadModel runs before llama.cpp sees a file) whether it
// rejects each one: a crash that validation lets through is a finding to fix.
// Needs clang and libFuzzer: apt-get install clang-14 libclang-rt-14-dev (Debian/Ubuntu).
//
// `http` is not a libFuzzer harness: fuzz/http_fuzz.mjs sends mutated HTTP requests to the server
// (createServer on a loopback port, stories260K) for --seconds and judges every answer; it needs
// neither clang nor a build (only dist/ and the model), so `--only http` runs without them.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkObjects } from "./object-check.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fuzzDir = path.join(root, "fuzz");
const buildDir = path.join(fuzzDir, "build");
const workDir = path.join(fuzzDir, ".work");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(opt("seconds", "60"));
const ONLY = opt("only", "gguf,tokenize,grammar,state,chat_template,chat_parse,speculative,rpc,media,http").split(",");
const NATIVE = ONLY.filter((n) => n !== "http");
// Native sources a harness compiles in besides its own file (the checks it puts in front of llama.cpp;
// for rpc, ggml's RPC backend itself, instrumented, whether or not the linked libraries have it).
const rpcDir = path.join(root, "vendor", "llama.cpp", "ggml", "src", "ggml-rpc");
const HARNESS_SOURCES = {
  state: [path.join(root, "native", "state_check.cpp")],
  rpc: [path.join(rpcDir, "ggml-rpc.cpp"), path.join(rpcDir, "transport.cpp")],
  // the decoders (stb_image, miniaudio) live in mtmd-helper.cpp: compiled here, instrumented, even
  // when the mtmd library linked after it is an uninstrumented addon build's
  media: [path.join(root, "vendor", "llama.cpp", "tools", "mtmd", "mtmd-helper.cpp")],
};
// Definitions a harness's own sources are compiled with: the media harness's stb_image decodes what
// the addon's does (CMakeLists.txt: STBI_ONLY_* on mtmd-helper.cpp).
const HARNESS_DEFINES = { media: ["-DSTBI_ONLY_PNG", "-DSTBI_ONLY_JPEG", "-DSTBI_ONLY_BMP", "-DSTBI_ONLY_GIF"] };
const HARNESS_INCLUDES = {
  rpc: [path.join(root, "vendor", "llama.cpp", "ggml", "src"), rpcDir],
  // media: llama.cpp's mtmd (built with the libraries below, instrumented) and stb_image's header
  media: [path.join(root, "vendor", "llama.cpp", "tools", "mtmd"), path.join(root, "vendor", "llama.cpp", "vendor")],
};
const jobs = String(os.availableParallelism?.() ?? os.cpus().length);
const log = (...a) => console.error("[fuzz]", ...a);

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: "inherit", ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed (exit ${r.status})`);
  return r;
}

function findClang() {
  for (const v of ["", "-14", "-15", "-16", "-17", "-18", "-19"]) {
    const cxx = `clang++${v}`;
    if (spawnSync(cxx, ["--version"]).status !== 0) continue;
    // libFuzzer ships separately (libclang-rt-NN-dev on Debian): try to link a trivial harness
    const probe = path.join(os.tmpdir(), `llama-native-fuzz-probe-${process.pid}`);
    fs.writeFileSync(`${probe}.cpp`, 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n');
    const ok = spawnSync(cxx, ["-fsanitize=fuzzer,address", `${probe}.cpp`, "-o", probe]).status === 0;
    fs.rmSync(`${probe}.cpp`, { force: true });
    fs.rmSync(probe, { force: true });
    if (ok) return { cc: `clang${v}`, cxx };
  }
  console.error("npm run fuzz needs clang with libFuzzer. On Debian/Ubuntu: apt-get install clang-14 libclang-rt-14-dev");
  process.exit(2);
}

function build() {
  run(process.execPath, [path.join(root, "vendor", "fetch.mjs")]);
  const { cc, cxx } = findClang();
  // NDEBUG as in llama-native's release builds: C assert()s (a NaN check in ggml's ops, say) are
  // compiled out there, so they are not crashes users could hit; GGML_ASSERT stays on either way.
  const flags = "-fsanitize=address,fuzzer-no-link -fno-omit-frame-pointer -g -O1 -DNDEBUG";
  // LLAMA_NATIVE_FUZZ_LLAMA=DIR links the harnesses against the static llama.cpp libraries of an
  // existing addon build (e.g. build/llama.cpp) instead of building an instrumented llama.cpp (about
  // 20 minutes at -j2): quicker for the chat harnesses, whose code under test (common/, compiled
  // here) stays instrumented; libllama and ggml then are not.
  const prebuilt = process.env.LLAMA_NATIVE_FUZZ_LLAMA;
  const llamaBuild = prebuilt ? path.resolve(prebuilt) : path.join(buildDir, "llama");
  const ccache = spawnSync("ccache", ["--version"]).status === 0;
  const flagsId = path.join(llamaBuild, ".llama-native-flags");
  // the configuration's identity: the flags, and the mtmd library being part of it
  const configId = `${flags} +mtmd`;
  if (!prebuilt && (!fs.existsSync(flagsId) || fs.readFileSync(flagsId, "utf8") !== configId))
    fs.rmSync(path.join(llamaBuild, "CMakeCache.txt"), { force: true });
  if (!prebuilt && !fs.existsSync(path.join(llamaBuild, "CMakeCache.txt"))) {
    run("cmake", [
      "-S",
      path.join(root, "vendor", "llama.cpp"),
      "-B",
      llamaBuild,
      "-G",
      "Ninja",
      "-DCMAKE_BUILD_TYPE=Release",
      `-DCMAKE_C_COMPILER=${cc}`,
      `-DCMAKE_CXX_COMPILER=${cxx}`,
      `-DCMAKE_C_FLAGS=${flags}`,
      `-DCMAKE_CXX_FLAGS=${flags}`,
      "-DCMAKE_C_FLAGS_RELEASE=",
      "-DCMAKE_CXX_FLAGS_RELEASE=",
      "-DBUILD_SHARED_LIBS=OFF",
      "-DGGML_NATIVE=ON",
      "-DGGML_OPENMP=OFF",
      "-DLLAMA_BUILD_TESTS=OFF",
      "-DLLAMA_BUILD_EXAMPLES=OFF",
      "-DLLAMA_BUILD_TOOLS=OFF",
      "-DLLAMA_BUILD_SERVER=OFF",
      "-DLLAMA_BUILD_COMMON=OFF",
      "-DLLAMA_BUILD_APP=OFF",
      "-DLLAMA_OPENSSL=OFF",
      // llama.cpp's mtmd library on its own (the media harness), without its ffmpeg video path
      "-DLLAMA_BUILD_MTMD=ON",
      "-DMTMD_VIDEO=OFF",
      ...(ccache ? ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"] : []),
    ]);
  }
  if (!prebuilt) {
    fs.writeFileSync(flagsId, configId);
    run("cmake", ["--build", llamaBuild, "-j", jobs, "--target", "llama", ...(NATIVE.includes("media") ? ["mtmd"] : [])]);
  }
  // Every object of the libraries the harnesses link must carry the instrumentation, by its symbols:
  // __asan_* (address) and __sanitizer_cov_* (fuzzer-no-link: the coverage libFuzzer steers by).
  // (LLAMA_NATIVE_FUZZ_LLAMA's libraries are the caller's: not checked, and said so)
  if (prebuilt)
    log(`using the llama.cpp libraries in ${llamaBuild} as they are (LLAMA_NATIVE_FUZZ_LLAMA): their instrumentation is not checked`);
  else {
    const check = checkObjects(llamaBuild, {
      require: [
        { name: "AddressSanitizer", prefix: "__asan_" },
        { name: "libFuzzer coverage", prefix: "__sanitizer_cov_" },
      ],
    });
    for (const l of check.lines) log(l);
    if (check.failures.length) throw new Error(`not instrumented:\n  ${check.failures.join("\n  ")}`);
  }
  // an addon build (LLAMA_NATIVE_FUZZ_LLAMA) has ggml's RPC backend, which libggml's registry references
  const libs = [
    "src/libllama.a",
    "ggml/src/libggml.a",
    "ggml/src/ggml-rpc/libggml-rpc.a",
    "ggml/src/libggml-cpu.a",
    "ggml/src/libggml-base.a",
  ]
    .map((l) => path.join(llamaBuild, l))
    .filter((l) => !l.includes("ggml-rpc") || fs.existsSync(l));
  // the media harness links mtmd (and the hash library it uses) before them: the fuzz build's own, or
  // with LLAMA_NATIVE_FUZZ_LLAMA=build/llama.cpp the addon's (build/libllama_native_mtmd.a)
  const mtmdLibs = [
    prebuilt ? path.join(llamaBuild, "..", "libllama_native_mtmd.a") : path.join(llamaBuild, "tools", "mtmd", "libmtmd.a"),
    path.join(llamaBuild, "vendor", "hash", "libvendor-hash.a"),
  ];
  fs.mkdirSync(buildDir, { recursive: true });
  // the chat harnesses and speculative (llama.cpp's n-gram drafter) run code of common/
  const usesCommon = (n) => n.startsWith("chat_") || n === "speculative";
  const chatObjects = NATIVE.some(usesCommon) ? buildChatObjects(cxx, flags) : [];
  for (const name of NATIVE) {
    const out = path.join(buildDir, `${name}_fuzzer`);
    const src = path.join(fuzzDir, `${name}_fuzzer.cpp`);
    const extra = HARNESS_SOURCES[name] ?? [];
    const chat = usesCommon(name);
    const objects = chat ? chatObjects : name === "media" ? mtmdLibs : [];
    const inputs = [
      src,
      path.join(fuzzDir, "fuzz_common.h"),
      path.join(root, "native", "grammar_check.h"),
      path.join(root, "native", "state_check.h"),
      path.join(root, "native", "media_check.h"),
      ...extra,
      ...libs,
      ...objects,
    ];
    if (fs.existsSync(out) && fs.statSync(out).mtimeMs > Math.max(...inputs.map((f) => fs.statSync(f).mtimeMs))) continue;
    log(`linking ${path.relative(root, out)}`);
    run(cxx, [
      "-std=c++17",
      "-fsanitize=fuzzer,address",
      "-fno-omit-frame-pointer",
      "-g",
      "-O1",
      "-DNDEBUG",
      "-I",
      path.join(root, "vendor", "llama.cpp", "include"),
      "-I",
      path.join(root, "vendor", "llama.cpp", "ggml", "include"),
      ...(HARNESS_INCLUDES[name] ?? []).flatMap((d) => ["-I", d]),
      ...(HARNESS_DEFINES[name] ?? []),
      ...(chat
        ? chatIncludes()
            .flatMap((d) => ["-I", d])
            .concat(["-DLLAMA_NATIVE_FUZZ_COMMON"])
        : []),
      src,
      ...extra,
      ...objects,
      ...libs,
      "-lpthread",
      "-ldl",
      "-lm",
      "-o",
      out,
    ]);
  }
}

// The chat harnesses run llama.cpp's common/ chat pipeline, which the addon compiles from the same
// list (CMakeLists.txt LLAMA_NATIVE_COMMON_SOURCES), and native/chat_request.cpp.
const chatIncludes = () => [path.join(root, "vendor", "llama.cpp", "common"), path.join(root, "vendor", "llama.cpp", "vendor")];
function chatSources() {
  const cmake = fs.readFileSync(path.join(root, "CMakeLists.txt"), "utf8");
  const list = /set\(LLAMA_NATIVE_COMMON_SOURCES([^)]*)\)/.exec(cmake);
  if (!list) throw new Error("CMakeLists.txt has no LLAMA_NATIVE_COMMON_SOURCES list");
  const common = list[1]
    .trim()
    .split(/\s+/)
    .map((f) => path.join(root, "vendor", "llama.cpp", "common", f));
  return [...common, path.join(root, "native", "chat_request.cpp")];
}
function buildChatObjects(cxx, flags) {
  const dir = path.join(buildDir, "chat");
  fs.mkdirSync(dir, { recursive: true });
  // common.cpp reads llama.cpp's build info: generated from its template, as CMakeLists.txt does
  const info = path.join(dir, "build-info.cpp");
  const pin = JSON.parse(fs.readFileSync(path.join(root, "vendor", "llama.cpp.json"), "utf8"));
  const tmpl = fs.readFileSync(path.join(root, "vendor", "llama.cpp", "common", "build-info.cpp.in"), "utf8");
  const text = tmpl
    .replace("@LLAMA_BUILD_NUMBER@", "0")
    .replace("@LLAMA_BUILD_COMMIT@", pin.commit)
    .replace("@BUILD_COMPILER@", cxx)
    .replace("@BUILD_TARGET@", "fuzz");
  if (!fs.existsSync(info) || fs.readFileSync(info, "utf8") !== text) fs.writeFileSync(info, text);
  // a small ninja file: parallel, and rebuilt when a header changes (-MD depfiles)
  const esc = (p) => p.replace(/([ :$])/g, "$$$1");
  const cflags = [
    "-std=c++17",
    ...flags.split(" "),
    "-I",
    path.join(root, "vendor", "llama.cpp", "include"),
    "-I",
    path.join(root, "vendor", "llama.cpp", "ggml", "include"),
    ...chatIncludes().flatMap((d) => ["-I", d]),
  ];
  const objects = [];
  let ninja = `rule cxx\n  command = ${cxx} ${cflags.join(" ")} -MD -MF $out.d -c $in -o $out\n  depfile = $out.d\n  deps = gcc\n  description = compiling $in\n`;
  for (const src of [...chatSources(), info]) {
    const obj = path.join(dir, `${path.relative(root, src).replace(/[\\/]/g, "_")}.o`);
    objects.push(obj);
    ninja += `build ${esc(obj)}: cxx ${esc(src)}\n`;
  }
  fs.writeFileSync(path.join(dir, "build.ninja"), ninja);
  run("ninja", ["-C", dir, "-j", jobs]);
  return objects;
}

async function replayGguf(crashes) {
  const { validateModelFile } = await import(path.join(root, "dist", "gguf", "index.js"));
  const findings = [];
  for (const file of crashes) {
    try {
      await validateModelFile(file);
      findings.push(file);
      log(`NOT CAUGHT by llama-native's validation: ${path.relative(root, file)}`);
    } catch (e) {
      log(`caught by llama-native's validation: ${path.relative(root, file)}: ${String(e.message).split("\n")[0].slice(0, 140)}`);
    }
  }
  return findings;
}

/** The HTTP harness (fuzz/http_fuzz.mjs): its summary as a row of the table. */
function runHttp() {
  log(`http: ${SECONDS} s`);
  const seed = opt("seed", undefined);
  const r = spawnSync(
    process.execPath,
    [path.join(fuzzDir, "http_fuzz.mjs"), "--seconds", String(SECONDS), "--json", ...(seed !== undefined ? ["--seed", seed] : [])],
    { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 64 << 20 },
  );
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  let s;
  try {
    s = JSON.parse(line);
  } catch {
    throw new Error(`fuzz/http_fuzz.mjs exited with ${r.status} and printed no summary`);
  }
  const kept = fs.readdirSync(path.join(workDir, "http")).filter((f) => /^[a-z0-9-]+-s\d+-[ct]\d+\.json$/.test(f)).length;
  return {
    name: "http",
    seconds: SECONDS,
    runs: s.requests,
    cov: "-",
    ft: "-",
    corpus: "-",
    newArtifacts: s.findings,
    artifacts: kept,
    notCaught: s.findings,
  };
}

async function main() {
  const summary = [];
  let uncaught = 0;
  if (NATIVE.length)
    await fuzzNative(summary).then((n) => {
      uncaught += n;
    });
  if (ONLY.includes("http")) {
    const row = runHttp();
    summary.push(row);
    uncaught += row.notCaught;
  }
  console.log("| harness | seconds | runs | cov | ft | corpus | new crashes | crashes kept | not caught by llama-native |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const s of summary)
    console.log(
      `| ${s.name} | ${s.seconds} | ${s.runs ?? "?"} | ${s.cov ?? "?"} | ${s.ft ?? "?"} | ${s.corpus} | ${s.newArtifacts} | ${s.artifacts} | ${s.notCaught} |`,
    );
  if (uncaught) process.exitCode = 1;
}

/** The libFuzzer harnesses: builds them, runs each, adds its row to `summary`; returns the inputs not caught. */
async function fuzzNative(summary) {
  build();
  // the tokenizer families the harnesses are seeded with; one that the vendored tree lacks is said, not skipped in silence
  const wanted = ["llama-spm", "llama-bpe", "qwen2", "bert-bge", "t5"].map((v) =>
    path.join(root, "vendor", "llama.cpp", "models", `ggml-vocab-${v}.gguf`),
  );
  for (const f of wanted.filter((f) => !fs.existsSync(f)))
    log(`seed vocabulary missing, its tokenizer is not fuzzed: ${path.relative(root, f)}`);
  const vocabs = wanted.filter((f) => fs.existsSync(f));
  log(`seed vocabularies: ${vocabs.map((f) => path.basename(f)).join(", ")}`);
  let uncaught = 0;
  // the media harness's projector: the random `mlp` one, sized for the seed model (32 wide)
  const mediaProjector = path.join(workDir, "media-projector.gguf");
  if (NATIVE.includes("media") && !fs.existsSync(mediaProjector)) {
    const { makeProjector, TINY_PROJECTOR } = await import(path.join(root, "scripts", "make-projector.mjs"));
    fs.mkdirSync(workDir, { recursive: true });
    await makeProjector({ ...TINY_PROJECTOR, outEmbd: 32, out: mediaProjector });
  }
  for (const name of NATIVE) {
    const work = path.join(workDir, name);
    const corpus = path.join(work, "corpus");
    fs.mkdirSync(corpus, { recursive: true });
    const before = new Set(fs.readdirSync(work).filter((f) => f.startsWith("crash-") || f.startsWith("oom-") || f.startsWith("timeout-")));
    log(`${name}: ${SECONDS} s`);
    const r = spawnSync(
      path.join(buildDir, `${name}_fuzzer`),
      [
        // fork mode goes on after a crash (each is kept), instead of stopping at the first
        `-max_total_time=${SECONDS}`,
        "-fork=1",
        "-ignore_crashes=1",
        "-ignore_ooms=1",
        "-ignore_timeouts=1",
        "-timeout=20",
        "-rss_limit_mb=6144",
        "-max_len=131072",
        `-artifact_prefix=${work}/`,
        "-print_final_stats=1",
        corpus,
        path.join(fuzzDir, "corpus", name),
        // the real templates seed the template harness
        ...(name === "chat_template" ? [path.join(root, "vendor", "llama.cpp", "models", "templates")] : []),
      ],
      {
        encoding: "utf8",
        env: {
          ...process.env,
          LLAMA_NATIVE_FUZZ_VOCABS: vocabs.join(":"),
          LLAMA_NATIVE_FUZZ_STATE_MODEL: path.join(fuzzDir, "corpus", "gguf", "tiny-f32.gguf"),
          LLAMA_NATIVE_FUZZ_TEMPLATES: path.join(root, "vendor", "llama.cpp", "models", "templates"),
          LLAMA_NATIVE_FUZZ_MODEL: path.join(fuzzDir, "corpus", "gguf", "tiny-f32.gguf"),
          LLAMA_NATIVE_FUZZ_PROJECTOR: mediaProjector,
          ASAN_OPTIONS: "detect_leaks=0:allocator_may_return_null=1",
        },
        maxBuffer: 256 << 20,
      },
    );
    // libFuzzer's own counts: in fork mode the parent prints "#RUNS: cov: C ft: F corp: N exec/s E
    // oom/timeout/crash: a/b/c time: Ns …" (FuzzerFork.cpp), RUNS summed over the jobs; the last line has the totals
    const last = [
      ...r.stderr.matchAll(/^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+)\S* exec\/s:? (\d+) oom\/timeout\/crash: (\d+)\/(\d+)\/(\d+)/gm),
    ].at(-1);
    const stats = last
      ? { runs: Number(last[1]), cov: Number(last[2]), ft: Number(last[3]), execPerS: Number(last[5]), crashes: Number(last[8]) }
      : {};
    if (!last) log(`${name}: libFuzzer printed no stats line`);
    else log(`${name}: libFuzzer final stats: ${last[0]}`);
    const found = fs.readdirSync(work).filter((f) => /^(crash|oom|timeout)-/.test(f) && !before.has(f));
    const all = fs.readdirSync(work).filter((f) => /^(crash|oom|timeout)-/.test(f));
    if (r.status !== 0 && found.length === 0) {
      console.error(r.stderr.slice(-3000));
      throw new Error(`${name}_fuzzer exited with ${r.status} and left no artifact`);
    }
    // fork mode names every artifact crash-*; replay one with fuzz/build/<name>_fuzzer FILE to see why
    for (const f of found) log(`${name}: new ${f}`);
    let notCaught = [];
    if (name === "gguf" && all.length) notCaught = await replayGguf(all.map((f) => path.join(work, f)));
    if (name !== "gguf") notCaught = all;
    uncaught += notCaught.length;
    summary.push({
      name,
      seconds: SECONDS,
      runs: stats.runs,
      cov: stats.cov,
      ft: stats.ft,
      corpus: fs.readdirSync(corpus).length,
      newArtifacts: found.length,
      artifacts: all.length,
      notCaught: notCaught.length,
    });
  }
  return uncaught;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
