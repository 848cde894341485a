#!/usr/bin/env node
// npm run lint: the checks a change must pass besides the tests.
//   - Biome: lint rules and formatting of the TypeScript and JavaScript (biome.json)
//   - clang-format: formatting of native/ and fuzz/ C++ (.clang-format); needs clang-format on the PATH
//   - no import cycles between the modules of src/ (type-only imports included)
//   - docs/reference.md is what scripts/api-docs.mjs generates from the doc comments of dist/index.d.ts
// npm run format rewrites what the two formatters would change (`node scripts/lint.mjs --fix`).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { fix: { type: "boolean", default: false } }, strict: true });
let failed = 0;
const step = (name, ok, detail = "") => {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
  if (!ok) failed++;
};

// Biome
{
  const biome = path.join(root, "node_modules", "@biomejs", "biome", "bin", "biome");
  const r = spawnSync(process.execPath, [biome, "check", ...(values.fix ? ["--write"] : []), "."], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) process.stdout.write(r.stdout + r.stderr);
  step("biome check (lint + format)", r.status === 0);
}

// clang-format
{
  const files = ["native", "fuzz"].flatMap((d) =>
    fs
      .readdirSync(path.join(root, d))
      .filter((f) => /\.(cpp|h)$/.test(f))
      .map((f) => path.join(d, f)),
  );
  const probe = spawnSync("clang-format", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) {
    step("clang-format", false, "clang-format is not on the PATH (Debian/Ubuntu: apt-get install clang-format)");
  } else {
    const args = values.fix ? ["-i", ...files] : ["--dry-run", "--Werror", ...files];
    const r = spawnSync("clang-format", args, { cwd: root, encoding: "utf8" });
    if (r.status !== 0) process.stdout.write(r.stderr.split("\n").slice(0, 40).join("\n") + "\n");
    step(`clang-format (${files.length} files, ${probe.stdout.trim().split(" ").pop()})`, r.status === 0);
  }
}

// import cycles in src/
{
  const src = path.join(root, "src");
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith(".ts")) files.push(path.join(d, e.name));
    }
  };
  walk(src);
  const resolve = (from, spec) => {
    const base = path.resolve(path.dirname(from), spec);
    for (const c of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(c)) return c;
    return undefined;
  };
  const graph = new Map(
    files.map((f) => {
      const text = fs.readFileSync(f, "utf8");
      const deps = [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => resolve(f, m[1])).filter(Boolean);
      return [f, deps];
    }),
  );
  const cycles = [];
  const state = new Map(); // 1 visiting, 2 done
  const stack = [];
  const visit = (f) => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(src, x)).join(" → "));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f);
  for (const c of cycles) console.log(`  cycle: ${c}`);
  step(`no import cycles in src/ (${files.length} modules)`, cycles.length === 0);
}

// API reference up to date
{
  const r = spawnSync(process.execPath, [path.join(root, "scripts", "api-docs.mjs"), ...(values.fix ? [] : ["--check"])], {
    cwd: root,
    encoding: "utf8",
  });
  if (r.status !== 0) process.stdout.write(r.stdout + r.stderr);
  step("docs/reference.md matches the doc comments", r.status === 0);
}

process.exit(failed ? 1 : 0);
