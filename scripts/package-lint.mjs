#!/usr/bin/env node
// Lints the packages a release publishes, as npm would publish them: stages them
// (scripts/packages.mjs), then runs publint on each tarball and @arethetypeswrong/cli on the main
// package's (its types resolve for CommonJS, ESM and bundlers alike). CI runs it after the prebuild.
//   node scripts/package-lint.mjs
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pack, stagePackages } from "./packages.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-package-lint-"));
let failed = 0;
try {
  const staged = stagePackages({ out: path.join(work, "staged") });
  for (const p of staged) {
    const t = pack(p.dir, work);
    const tarball = path.isAbsolute(t.file) ? t.file : path.join(work, t.file);
    // publint packs the staged folder itself (npm pack), so it sees what would be published
    const lint = spawnSync(process.execPath, [path.join(root, "node_modules", "publint", "src", "cli.js"), p.dir, "--strict"], {
      encoding: "utf8",
    });
    const ok = lint.status === 0;
    console.log(`${ok ? "ok  " : "FAIL"} publint ${p.name}`);
    if (!ok) {
      failed++;
      process.stdout.write(lint.stdout + lint.stderr);
    }
    if (p.kind === "main") {
      const attw = spawnSync(
        process.execPath,
        [path.join(root, "node_modules", "@arethetypeswrong", "cli", "dist", "index.js"), tarball, "--format", "ascii"],
        {
          encoding: "utf8",
        },
      );
      const good = attw.status === 0;
      console.log(`${good ? "ok  " : "FAIL"} attw ${p.name}`);
      if (!good) {
        failed++;
        process.stdout.write(attw.stdout + attw.stderr);
      }
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
