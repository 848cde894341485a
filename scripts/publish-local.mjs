#!/usr/bin/env node
// npm run publish:local -- --registry URL [--out DIR]
// Publishes the packages scripts/packages.mjs makes from this checkout to the registry at URL, in
// the order a release must follow: the platform package(s) built here, the source package, then
// llama-native (whose optionalDependencies name every platform package; npm skips those the
// registry does not have). Made for tests against a local registry (scripts/registry-check.mjs);
// the real release is .github/workflows/prebuild.yml's, so the public npm registry is refused.
// Authentication is npm's own (a token for URL in the user's .npmrc or NPM_CONFIG_USERCONFIG).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stagePackages } from "./packages.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MB = 1048576;
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const { values } = parseArgs({ options: { registry: { type: "string" }, out: { type: "string" } }, strict: true });
if (!values.registry) {
  console.error("usage: npm run publish:local -- --registry URL [--out DIR]");
  process.exit(2);
}
const registry = new URL(values.registry);
if (/(^|\.)npmjs\.(org|com)$/.test(registry.hostname)) {
  console.error(`publish:local publishes to test registries only, not ${registry.host}: releases are the workflow's`);
  process.exit(2);
}

let staged;
try {
  staged = stagePackages({ out: path.resolve(values.out ?? path.join(root, "packages")) });
} catch (e) {
  console.error(`publish:local: ${e.message}`);
  process.exit(1);
}
if (!staged.some((p) => p.kind === "platform")) {
  console.error("publish:local: no prebuild under prebuilds/ to publish: run `npm run prebuild` first");
  process.exit(1);
}
for (const p of staged) {
  const r = spawnSync("npm", ["publish", p.dir, "--registry", registry.href, "--access", "public", "--ignore-scripts", "--json"], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
    shell: process.platform === "win32",
  });
  if (r.status !== 0) {
    console.error(`publish:local: npm publish of ${p.name} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    process.exit(1);
  }
  // npm publish --json prints the packed tarball's facts (as npm pack --json does)
  let facts = "";
  try {
    const j = JSON.parse(r.stdout);
    const t = j[p.name] ?? j;
    facts = `: ${(t.size / MB).toFixed(2)} MB packed, ${(t.unpackedSize / MB).toFixed(2)} MB unpacked, ${t.entryCount} files`;
  } catch {}
  console.log(`published ${p.name}@${version}${facts}`);
}
console.log(`publish:local: ${staged.length} packages published to ${registry.href}`);
