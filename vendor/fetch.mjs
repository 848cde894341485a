#!/usr/bin/env node
// Materializes vendor/llama.cpp/ from the pin in vendor/llama.cpp.json.
//
// The only llama.cpp source reachable from the machines that build this project is the git bundle
// that node-llama-cpp ships in its npm tarball. This script:
//   1. fetches that tarball with the ordinary npm client (`npm pack`),
//   2. checks its sha512 against the pinned npm integrity,
//   3. extracts the bundle, clones it, checks out the pinned commit and verifies HEAD,
//   4. applies vendor/patches/*.patch in name order,
//   5. writes vendor/llama.cpp/.llama-native-pin so the next run is a no-op.
//
// Idempotent: an existing tree whose marker names the pinned commit (and, when it has a .git
// directory, whose HEAD is that commit) is left alone. `--force` rebuilds it; `--check` only verifies.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const pin = JSON.parse(fs.readFileSync(path.join(here, "llama.cpp.json"), "utf8"));
const dest = path.join(here, "llama.cpp");
const marker = path.join(dest, ".llama-native-pin");
const args = new Set(process.argv.slice(2));

function log(msg) {
  process.stderr.write(`[llama-native vendor] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[llama-native vendor] error: ${msg}\n`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", ...opts });
}

function patchFiles() {
  const dir = path.join(here, "patches");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(".patch")).sort().map((f) => path.join(dir, f));
}

function patchDigest() {
  const h = createHash("sha256");
  for (const f of patchFiles()) h.update(path.basename(f)).update(fs.readFileSync(f));
  return h.digest("hex");
}

function expectedMarker() {
  return JSON.stringify({ commit: pin.commit, patches: patchDigest() });
}

function treeIsCurrent() {
  if (!fs.existsSync(marker)) return false;
  if (fs.readFileSync(marker, "utf8").trim() !== expectedMarker()) return false;
  if (fs.existsSync(path.join(dest, ".git"))) {
    const head = run("git", ["-C", dest, "rev-parse", "HEAD"]).trim();
    if (head !== pin.commit) return false;
  }
  // The files the build needs must be there (a published tarball ships a trimmed tree).
  return ["CMakeLists.txt", "include/llama.h", "ggml/CMakeLists.txt", "src/llama.cpp"].every((f) =>
    fs.existsSync(path.join(dest, f)),
  );
}

function sriOf(file) {
  const [algo] = pin.integrity.split("-", 1);
  return `${algo}-${createHash(algo).update(fs.readFileSync(file)).digest("base64")}`;
}

function materialize() {
  for (const tool of ["git", "tar", "npm"]) {
    try {
      run(tool, ["--version"]);
    } catch {
      fail(`'${tool}' is needed to fetch the vendored llama.cpp source and was not found on the PATH`);
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-vendor-"));
  try {
    const spec = `${pin.package}@${pin.version}`;
    log(`fetching ${spec} with npm pack (it carries llama.cpp ${pin.commit.slice(0, 7)} as a git bundle)`);
    let tarball;
    try {
      const out = run("npm", ["pack", spec, "--json", "--pack-destination", tmp], { cwd: tmp });
      tarball = path.join(tmp, JSON.parse(out)[0].filename);
    } catch (e) {
      fail(
        `could not fetch ${spec} from the npm registry (${String(e.stderr || e.message).trim().split("\n").pop()}).\n` +
          `  The llama.cpp source is vendored from that package; this needs access to the npm registry once.\n` +
          `  Offline, copy a vendor/llama.cpp tree from a machine that has one, or install llama-native from its\n` +
          `  published tarball, which ships the source.`,
      );
    }
    const got = sriOf(tarball);
    if (got !== pin.integrity) {
      fail(`integrity mismatch for ${spec}:\n  expected ${pin.integrity}\n  got      ${got}`);
    }
    log(`integrity verified (${pin.integrity.slice(0, 22)}…)`);
    run("tar", ["-xzf", tarball, "-C", tmp, `package/${pin.file}`]);
    const bundle = path.join(tmp, "package", pin.file);

    const staging = `${dest}.partial`;
    fs.rmSync(staging, { recursive: true, force: true });
    run("git", ["clone", "--quiet", "--no-checkout", bundle, staging]);
    run("git", ["-C", staging, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", pin.commit]);
    const head = run("git", ["-C", staging, "rev-parse", "HEAD"]).trim();
    if (head !== pin.commit) fail(`checked out ${head}, expected ${pin.commit}`);
    for (const p of patchFiles()) {
      log(`applying ${path.relative(here, p)}`);
      run("git", ["-C", staging, "apply", "--whitespace=nowarn", p]);
    }
    fs.writeFileSync(path.join(staging, ".llama-native-pin"), `${expectedMarker()}\n`);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(staging, dest);
    log(`vendor/llama.cpp is at ${pin.commit} (ggml ${pin.ggml})`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (args.has("--check")) {
  if (!treeIsCurrent()) fail(`vendor/llama.cpp is missing or not at ${pin.commit}; run: node vendor/fetch.mjs`);
  log(`vendor/llama.cpp is at ${pin.commit}`);
} else if (!args.has("--force") && treeIsCurrent()) {
  log(`vendor/llama.cpp already at ${pin.commit.slice(0, 7)}; nothing to do`);
} else {
  materialize();
}
