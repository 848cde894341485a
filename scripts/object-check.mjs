// Checks that instrumentation reached the objects a build produced, by their symbols (nm), not by
// the flags we meant to pass: an object compiled with -fsanitize=address calls __asan_* functions,
// one with -fsanitize=undefined calls __ubsan_handle_* where it has a checked operation, one with
// -fsanitize=fuzzer-no-link calls __sanitizer_cov_*. Used by scripts/sanitize.mjs and scripts/fuzz.mjs.
//
// The objects examined are the ones that go into the product: every member of every static archive
// under the build folder (llama.cpp is added EXCLUDE_FROM_ALL, so only what the addon links is
// built: libllama, libggml*, libcommon when linked) plus the loose objects of the named targets.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// nm -A -u prints "archive:member: U symbol" (or "file.o: U symbol"); members with no undefined
// symbol at all are missing from that output, so the member list comes from `ar t`.
function undefinedSymbols(file) {
  const r = spawnSync("nm", ["-A", "-u", file], { encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`nm ${file} failed: ${r.stderr}`);
  const byObject = new Map();
  for (const line of r.stdout.split("\n")) {
    const m = /^(.*?):\s+U (\S+)$/.exec(line) ?? /^(.*?):\s*U (\S+)$/.exec(line);
    if (!m) continue;
    const key = m[1];
    if (!byObject.has(key)) byObject.set(key, new Set());
    byObject.get(key).add(m[2]);
  }
  return byObject;
}

// Per object, how many functions it defines of its own (nm --defined-only: text symbols, less the
// module constructors the sanitizers add). An object without any (a source whose every line is
// compiled out for this CPU, like ggml's AMX kernels without AMX) has nothing to instrument.
function ownFunctions(file) {
  const r = spawnSync("nm", ["-A", "--defined-only", file], { encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`nm ${file} failed: ${r.stderr}`);
  const byObject = new Map();
  for (const line of r.stdout.split("\n")) {
    const m = /^(.*?):\s*[0-9a-f]*\s+([TtWw]) (\S+)$/.exec(line);
    if (!m || /^(asan\.|sancov\.|__asan|__sanitizer|__ubsan)/.test(m[3])) continue;
    byObject.set(m[1], (byObject.get(m[1]) ?? 0) + 1);
  }
  return byObject;
}

// Where an object's source lives, from its name (CMake names objects <source path>.o under
// CMakeFiles/<target>.dir/): native | llama.cpp src | common | ggml | other.
export function origin(name) {
  if (/(^|\/)native\//.test(name) || /llama_native\.dir/.test(name)) return "native/";
  if (/CMakeFiles\/llama\.dir\//.test(name) || /libllama\.a/.test(name)) return "llama.cpp src/";
  if (/CMakeFiles\/(common|llama-common)[^/]*\.dir\//.test(name) || /libcommon\.a|libllama-common/.test(name)) return "common/";
  if (/ggml/.test(name)) return "ggml";
  return "other";
}

/**
 * @param {string} buildDir  the build folder
 * @param {{ loose?: RegExp, require: {name: string, prefix: string}[], report?: {name: string, prefix: string}[] }} spec
 *   require: symbol prefixes every object must reference (else the check fails);
 *   report: prefixes to list the objects without (allowed, but said).
 * @returns {{ objects: {name: string, origin: string, syms: Set<string>}[], failures: string[], lines: string[] }}
 */
export function checkObjects(buildDir, spec) {
  const files = walk(buildDir);
  const objects = [];
  for (const a of files.filter((f) => f.endsWith(".a"))) {
    const members = spawnSync("ar", ["t", a], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((m) => m.endsWith(".o"));
    const syms = undefinedSymbols(a);
    const code = ownFunctions(a);
    const rel = path.relative(buildDir, a);
    for (const m of members)
      objects.push({
        name: `${rel}(${m})`,
        origin: origin(`${rel}/${m}`),
        syms: syms.get(`${a}:${m}`) ?? new Set(),
        functions: code.get(`${a}:${m}`) ?? 0,
      });
  }
  if (spec.loose) {
    for (const o of files.filter((f) => f.endsWith(".o") && spec.loose.test(f))) {
      const rel = path.relative(buildDir, o);
      objects.push({
        name: rel,
        origin: origin(rel),
        syms: undefinedSymbols(o).get(o) ?? new Set(),
        functions: ownFunctions(o).get(o) ?? 0,
      });
    }
  }
  const failures = [];
  const lines = [];
  const counts = new Map();
  for (const o of objects) counts.set(o.origin, (counts.get(o.origin) ?? 0) + 1);
  lines.push(`objects: ${objects.length} (${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")})`);
  if (objects.length === 0) failures.push(`no objects found under ${buildDir}`);
  for (const { name, prefix } of spec.require) {
    const without = objects.filter((o) => ![...o.syms].some((s) => s.startsWith(prefix)));
    const empty = without.filter((o) => o.functions === 0);
    const missing = without.filter((o) => o.functions > 0);
    lines.push(
      `${name} (${prefix}*): ${objects.length - without.length}/${objects.length} objects` +
        (empty.length
          ? `; ${empty.length} define no function of their own (nothing to instrument): ${empty.map((o) => o.name).join(", ")}`
          : ""),
    );
    for (const o of missing) failures.push(`${o.name} [${o.origin}] has no ${prefix}* symbol: ${name} did not reach it`);
  }
  for (const { name, prefix } of spec.report ?? []) {
    const missing = objects.filter((o) => ![...o.syms].some((s) => s.startsWith(prefix)));
    lines.push(
      `${name} (${prefix}*): ${objects.length - missing.length}/${objects.length} objects` +
        (missing.length
          ? `; without any (no operation that ${name} checks was left in them): ${missing.map((o) => o.name).join(", ")}`
          : ""),
    );
  }
  return { objects, failures, lines };
}
