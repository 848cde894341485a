// The package layout: platform package names, how scripts/packages.mjs splits prebuilds/ into
// platform packages, the loader's search in an installed layout, and its error when the platform
// package is missing. (The same, through a real registry and npm: scripts/registry-check.mjs in CI.)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { describeLoadFailure, type LoadFailureFacts } from "../../dist/binding.js";
import { currentLibc, elfInterpreter, PLATFORM_TARGETS, platformId, platformPackageName, SOURCE_PACKAGE } from "../../dist/platform.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llama-native-packages-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("platform package names", () => {
  it("names every published target from its os, cpu and libc", () => {
    expect(PLATFORM_TARGETS.map((t) => t.id)).toEqual([
      "linux-x64-gnu",
      "linux-arm64-gnu",
      "linux-x64-musl",
      "linux-arm64-musl",
      "darwin-arm64",
      "darwin-x64",
      "win32-x64-msvc",
    ]);
    for (const t of PLATFORM_TARGETS) expect(platformId(t.os, t.cpu, t.libc ?? "")).toBe(t.id);
    expect(platformPackageName("linux", "x64", "glibc")).toBe("@llama-native/linux-x64-gnu");
    expect(platformPackageName("linux", "arm64", "musl")).toBe("@llama-native/linux-arm64-musl");
    expect(platformPackageName("win32", "arm64", "")).toBe("@llama-native/win32-arm64-msvc");
    expect(platformPackageName("freebsd", "x64", "")).toBe("@llama-native/freebsd-x64");
  });

  it("scripts/source.mjs fetches the same source package the loader's error names", async () => {
    const source = await import(path.join(root, "scripts", "source.mjs"));
    expect(source.SOURCE_PACKAGE).toBe(SOURCE_PACKAGE);
  });
});

describe.runIf(process.platform === "linux")("the C library of this process (the platform package's libc)", () => {
  it("reads node's ELF interpreter as readelf does, and names the libc Node's own report names", () => {
    // oracles: binutils' readelf and process.report (what currentLibc() asked before, at 7.6 ms a call)
    const r = spawnSync("readelf", ["-lW", process.execPath], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(r.stdout)?.[1];
    expect(interp).toBeDefined();
    expect(elfInterpreter(process.execPath)).toBe(interp);
    const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    expect(currentLibc()).toBe(report.header?.glibcVersionRuntime ? "glibc" : "musl");
  });

  it("reads a musl interpreter from a minimal ELF64, and gives undefined for files that are not one", () => {
    // ELF64 little-endian header + one PT_INTERP program header + the path
    const name = Buffer.from("/lib/ld-musl-x86_64.so.1\0", "latin1");
    const elf = Buffer.alloc(64 + 56 + name.length);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf[4] = 2; // ELFCLASS64
    elf[5] = 1; // little-endian
    elf.writeBigUInt64LE(64n, 0x20); // e_phoff
    elf.writeUInt16LE(56, 0x36); // e_phentsize
    elf.writeUInt16LE(1, 0x38); // e_phnum
    elf.writeUInt32LE(3, 64); // p_type PT_INTERP
    elf.writeBigUInt64LE(120n, 64 + 8); // p_offset
    elf.writeBigUInt64LE(BigInt(name.length), 64 + 32); // p_filesz
    name.copy(elf, 120);
    const file = path.join(tmp, "musl.elf");
    fs.writeFileSync(file, elf);
    expect(elfInterpreter(file)).toBe("/lib/ld-musl-x86_64.so.1");
    // no PT_INTERP (a static executable), absurd counts, offsets past the end, not ELF, empty, missing
    const cases: [string, Buffer][] = [
      ["static", Buffer.from(elf.subarray(0, 120)).fill(0, 64, 68)],
      [
        "phnum",
        (() => {
          const b = Buffer.from(elf);
          b.writeUInt16LE(65535, 0x38);
          return b;
        })(),
      ],
      [
        "phoff",
        (() => {
          const b = Buffer.from(elf);
          b.writeBigUInt64LE(1n << 40n, 0x20);
          return b;
        })(),
      ],
      ["truncated", elf.subarray(0, 40)],
      ["text", Buffer.from("#!/bin/sh\necho hi\n")],
      ["empty", Buffer.alloc(0)],
    ];
    for (const [what, bytes] of cases) {
      const f = path.join(tmp, `${what}.elf`);
      fs.writeFileSync(f, bytes);
      expect(elfInterpreter(f), what).toBeUndefined();
    }
    expect(elfInterpreter(path.join(tmp, "does-not-exist"))).toBeUndefined();
  });
});

describe("scripts/packages.mjs", () => {
  const fakePrebuilds = (layout: Record<string, string[]>) => {
    const dir = fs.mkdtempSync(path.join(tmp, "prebuilds-"));
    for (const [folder, files] of Object.entries(layout)) {
      for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(dir, folder, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, folder, f), `${folder}/${f}`);
      }
    }
    return dir;
  };
  const stage = async (prebuildsDir: string) => {
    const { stagePlatformPackages } = await import(path.join(root, "scripts", "packages.mjs"));
    const out = fs.mkdtempSync(path.join(tmp, "out-"));
    const lic = path.join(tmp, "LICENSE");
    fs.writeFileSync(lic, "MIT");
    return stagePlatformPackages({ prebuildsDir, out, version: "1.2.3", engines: { node: ">=18.17" }, licenses: [[lic, "LICENSE"]] }) as {
      name: string;
      dir: string;
      files: string[];
    }[];
  };

  it("makes one package per prebuild, glibc and musl apart, with os, cpu and libc set", async () => {
    const made = await stage(
      fakePrebuilds({
        "linux-x64": [
          "llama-native.napi.glibc.node",
          "llama-native-glibc/libllama.so.0",
          "llama-native-glibc/libggml-cpu-haswell.so",
          "llama-native.napi.musl.node",
          "llama-native-musl/libllama.so.0",
        ],
        "linux-arm64": ["llama-native.napi.glibc.node", "llama-native-glibc/libllama.so.0"],
        "darwin-arm64": ["llama-native.napi.node", "llama-native-libs/libllama.0.dylib"],
        "win32-x64": ["llama-native.napi.node", "llama-native-libs/llama.dll"],
      }),
    );
    const byName = Object.fromEntries(made.map((p) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual([
      "@llama-native/darwin-arm64",
      "@llama-native/linux-arm64-gnu",
      "@llama-native/linux-x64-gnu",
      "@llama-native/linux-x64-musl",
      "@llama-native/win32-x64-msvc",
    ]);
    const manifest = (name: string) => JSON.parse(fs.readFileSync(path.join(byName[name]!.dir, "package.json"), "utf8"));
    expect(manifest("@llama-native/linux-x64-musl")).toMatchObject({ version: "1.2.3", os: ["linux"], cpu: ["x64"], libc: ["musl"] });
    expect(manifest("@llama-native/linux-x64-gnu")).toMatchObject({ os: ["linux"], cpu: ["x64"], libc: ["glibc"] });
    expect(manifest("@llama-native/win32-x64-msvc")).toMatchObject({ os: ["win32"], cpu: ["x64"] });
    expect(manifest("@llama-native/darwin-arm64").libc).toBeUndefined();
    // each package holds its own addon and libraries only
    expect(byName["@llama-native/linux-x64-gnu"]!.files.sort()).toEqual([
      "prebuilds/linux-x64/llama-native-glibc/libggml-cpu-haswell.so",
      "prebuilds/linux-x64/llama-native-glibc/libllama.so.0",
      "prebuilds/linux-x64/llama-native.napi.glibc.node",
    ]);
    expect(byName["@llama-native/linux-x64-musl"]!.files.sort()).toEqual([
      "prebuilds/linux-x64/llama-native-musl/libllama.so.0",
      "prebuilds/linux-x64/llama-native.napi.musl.node",
    ]);
    const musl = path.join(byName["@llama-native/linux-x64-musl"]!.dir, "prebuilds", "linux-x64");
    expect(fs.readdirSync(musl).sort()).toEqual(["llama-native-musl", "llama-native.napi.musl.node"]);
    expect(fs.readFileSync(path.join(byName["@llama-native/win32-x64-msvc"]!.dir, "LICENSE"), "utf8")).toBe("MIT");
  });

  it("refuses a prebuild it cannot place", async () => {
    await expect(stage(fakePrebuilds({ "freebsd-x64": ["llama-native.napi.node"] }))).rejects.toThrow(
      /freebsd-x64 is not in PLATFORM_TARGETS/,
    );
    await expect(stage(fakePrebuilds({ "linux-x64": ["llama-native.napi.node"] }))).rejects.toThrow(/must name its libc/);
  });

  it("copies file lists with npm's folder and ! semantics", async () => {
    const { copyFiles } = await import(path.join(root, "scripts", "packages.mjs"));
    const from = fakePrebuilds({ src: ["a/x.h", "a/y.hpp", "a/b/z.c", "a/.gitignore", "skip/k.c", "top.txt"] });
    const to = path.join(tmp, "copied");
    const copied = copyFiles(path.join(from, "src"), to, ["a/", "top.txt", "!a/*.hpp", "!a/b/"]);
    expect(copied.sort()).toEqual(["a/x.h", "top.txt"]);
    expect(() => copyFiles(path.join(from, "src"), to, ["missing/"])).toThrow(/missing is listed but missing/);
  });
});

describe("the load-failure message", () => {
  const facts = (over: Partial<LoadFailureFacts>): LoadFailureFacts => ({
    attempts: [{ file: "/p/node_modules/llama-native/build/Release/llama_native.node", reason: "not found" }],
    platform: "linux",
    arch: "x64",
    libc: "glibc 2.36",
    node: "20.20.2",
    napi: "9",
    explicit: false,
    version: "1.2.3",
    platformPackage: "@llama-native/linux-x64-gnu",
    platformPackageState: "missing",
    checkout: false,
    ...over,
  });

  it("names the missing platform package, why it may be missing, and each fix", () => {
    const m = describeLoadFailure(facts({}));
    expect(m).toContain("/p/node_modules/llama-native/build/Release/llama_native.node: not found");
    expect(m).toContain("Platform: linux-x64 (glibc 2.36), Node 20.20.2, N-API 9.");
    expect(m).toContain("the package @llama-native/linux-x64-gnu@1.2.3, an optional dependency");
    expect(m).toContain("npm install --omit=optional");
    expect(m).toContain("https://github.com/npm/cli/issues/4828");
    expect(m).toContain("delete node_modules and\npackage-lock.json and run `npm install` again");
    expect(m).toContain("npm install --save-optional @llama-native/linux-x64-gnu@1.2.3");
    expect(m).toContain("npx llama-native build");
    expect(m).toContain("@llama-native/source@1.2.3");
  });

  it("says when no package is published for the platform", () => {
    const m = describeLoadFailure(
      facts({ arch: "ppc64", platformPackage: "@llama-native/linux-ppc64-gnu", platformPackageState: "unpublished" }),
    );
    expect(m).toContain("No prebuilt addon is published for linux-ppc64 (glibc)");
    expect(m).toContain("linux-x64-gnu, linux-arm64-gnu");
    expect(m).toContain("Fix: build it from source for this machine with `npx llama-native build`");
    expect(m).not.toContain("--omit=optional");
  });

  it("gives the explicit binary's fix, and a checkout's", () => {
    expect(describeLoadFailure(facts({ explicit: true }))).toContain("Fix: point LLAMA_NATIVE_BINARY at a llama_native.node");
    const checkout = describeLoadFailure(facts({ checkout: true }));
    expect(checkout).toContain("npm run build:native");
    expect(checkout).not.toContain("--omit=optional");
    expect(describeLoadFailure(facts({ platformPackageState: "installed" }))).toContain("Fix: reinstall @llama-native/linux-x64-gnu@1.2.3");
  });
});

// An installed layout made by hand: node_modules/llama-native (dist/ and package.json, as the main
// package ships them) beside node_modules/@llama-native/<platform>. Linux x64 glibc only (the addon
// built here is the one put into the fake platform package).
const addon = path.join(root, "build", "Release", "llama_native.node");
const here = platformPackageName();
describe.runIf(here === "@llama-native/linux-x64-gnu" && fs.existsSync(addon))("the loader in an installed layout", () => {
  const app = path.join(tmp, "app");
  const nm = path.join(app, "node_modules");
  const pkg = path.join(nm, "llama-native");
  const platformDir = path.join(nm, "@llama-native", "linux-x64-gnu");
  fs.mkdirSync(pkg, { recursive: true });
  fs.cpSync(path.join(root, "dist"), path.join(pkg, "dist"), { recursive: true });
  fs.copyFileSync(path.join(root, "package.json"), path.join(pkg, "package.json"));
  fs.cpSync(path.join(root, "node_modules", "node-gyp-build"), path.join(nm, "node-gyp-build"), { recursive: true });
  const load = () =>
    spawnSync(
      process.execPath,
      [
        "-e",
        `try { console.log("loaded " + require("llama-native").systemInfo().binary); } catch (e) { console.log(e.code + "\\n" + e.message); }`,
      ],
      { cwd: app, encoding: "utf8", env: { ...process.env, LLAMA_NATIVE_BINARY: "", LLAMA_NATIVE_GPU: "0" } },
    ).stdout;

  it("without the platform package: the error names it and the npm pitfalls", () => {
    const out = load();
    expect(out).toMatch(/^ERR_LLAMA_BINDING\n/);
    expect(out).toContain("- @llama-native/linux-x64-gnu: not installed");
    expect(out).toContain(`@llama-native/linux-x64-gnu@${version}, an optional dependency`);
    expect(out).toContain("--omit=optional");
    expect(out).not.toContain("npm run build:native");
  });

  it("refuses a platform package of another version", () => {
    fs.mkdirSync(path.join(platformDir, "prebuilds", "linux-x64"), { recursive: true });
    fs.writeFileSync(
      path.join(platformDir, "package.json"),
      JSON.stringify({ name: "@llama-native/linux-x64-gnu", version: "0.0.0-other" }),
    );
    fs.copyFileSync(addon, path.join(platformDir, "prebuilds", "linux-x64", "llama-native.napi.glibc.node"));
    const out = load();
    expect(out).toContain(`${platformDir}: version 0.0.0-other, but llama-native is ${version}`);
  });

  it("loads the platform package's addon, and a local build before it", () => {
    fs.writeFileSync(path.join(platformDir, "package.json"), JSON.stringify({ name: "@llama-native/linux-x64-gnu", version }));
    expect(load().trim()).toBe(`loaded ${path.join(platformDir, "prebuilds", "linux-x64", "llama-native.napi.glibc.node")}`);
    fs.mkdirSync(path.join(pkg, "build", "Release"), { recursive: true });
    fs.copyFileSync(addon, path.join(pkg, "build", "Release", "llama_native.node"));
    expect(load().trim()).toBe(`loaded ${path.join(pkg, "build", "Release", "llama_native.node")}`);
  });
});
