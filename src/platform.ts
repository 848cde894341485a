// Which prebuilt-binary package serves which platform. One small package per platform carries that
// platform's prebuild (prebuilds/<platform>-<arch>/…, node-gyp-build's layout); the published
// llama-native lists every one of them in optionalDependencies, and npm installs only the one whose
// os/cpu/libc match. The loader (binding.ts), the install hook and scripts/packages.mjs (which makes
// the packages from prebuilds/) all take the names from here.

import fs from "node:fs";

/** The npm scope of the companion packages: the platform packages and the source package. */
export const PACKAGE_SCOPE = "@llama-native";

/** The package holding the C++ source for source builds (`npx llama-native build` fetches it). */
export const SOURCE_PACKAGE = `${PACKAGE_SCOPE}/source`;

export interface PlatformTarget {
  /** package name without the scope, e.g. linux-x64-gnu */
  id: string;
  /** process.platform */
  os: NodeJS.Platform;
  /** process.arch */
  cpu: string;
  /** linux only: the C library, as npm's `libc` field names it */
  libc?: "glibc" | "musl";
}

/**
 * The platforms the release workflow (.github/workflows/prebuild.yml) builds and publishes. A
 * platform missing here still works through a source build; its package name is derived all the same.
 */
export const PLATFORM_TARGETS: readonly PlatformTarget[] = [
  { id: "linux-x64-gnu", os: "linux", cpu: "x64", libc: "glibc" },
  { id: "linux-arm64-gnu", os: "linux", cpu: "arm64", libc: "glibc" },
  { id: "linux-x64-musl", os: "linux", cpu: "x64", libc: "musl" },
  { id: "linux-arm64-musl", os: "linux", cpu: "arm64", libc: "musl" },
  { id: "darwin-arm64", os: "darwin", cpu: "arm64" },
  { id: "darwin-x64", os: "darwin", cpu: "x64" },
  { id: "win32-x64-msvc", os: "win32", cpu: "x64" },
];

let libc: "glibc" | "musl" | "" | undefined;

/** The C library of this process on Linux ("glibc" or "musl"); "" elsewhere. */
export function currentLibc(): "glibc" | "musl" | "" {
  libc ??= detectLibc();
  return libc;
}

function detectLibc(): "glibc" | "musl" | "" {
  if (process.platform !== "linux") return "";
  // The dynamic loader that runs node names it (/lib/ld-musl-x86_64.so.1, /lib64/ld-linux-x86-64.so.2).
  // process.report.getReport() knows too, but writes a whole diagnostic report to tell: 7.6 ms and
  // 2.3 MB of peak RSS here, on every process that loads the addon. It stays the fallback for a
  // node without an interpreter (static) or one that cannot be read.
  const interp = elfInterpreter(process.execPath);
  if (interp !== undefined) return /ld-musl-/.test(interp) ? "musl" : "glibc";
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? "glibc" : "musl";
}

/** @internal The PT_INTERP path of an ELF executable, or undefined (not ELF, static, unreadable). */
export function elfInterpreter(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const head = Buffer.alloc(64);
    if (fs.readSync(fd, head, 0, 64, 0) < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const phoff = word(head, is64 ? 0x20 : 0x1c);
    const phentsize = u16(head, is64 ? 0x36 : 0x2a);
    const phnum = u16(head, is64 ? 0x38 : 0x2c);
    if (phnum === 0 || phnum > 256 || phentsize < (is64 ? 56 : 32)) return undefined;
    const ph = Buffer.alloc(phentsize * phnum);
    if (fs.readSync(fd, ph, 0, ph.length, phoff) < ph.length) return undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (u32(ph, at) !== 3 /* PT_INTERP */) continue;
      const offset = word(ph, at + (is64 ? 8 : 4));
      const size = Math.min(word(ph, at + (is64 ? 32 : 16)), 4096);
      const name = Buffer.alloc(size);
      const n = fs.readSync(fd, name, 0, size, offset);
      return name.subarray(0, n).toString("latin1").replace(/\0.*$/s, "");
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The package id (name without scope) for a platform: `<os>-<cpu>` plus the ABI where one OS has
 * two (Linux: -gnu or -musl) or where the toolchain matters to the user (Windows: -msvc), the names
 * Rust's target triples and napi-rs use.
 */
export function platformId(os: string, cpu: string, libc = ""): string {
  if (os === "linux") return `linux-${cpu}-${libc === "musl" ? "musl" : "gnu"}`;
  if (os === "win32") return `win32-${cpu}-msvc`;
  return `${os}-${cpu}`;
}

/** The full package name for a platform (default: this process's). */
export function platformPackageName(os: string = process.platform, cpu: string = process.arch, libc: string = currentLibc()): string {
  return `${PACKAGE_SCOPE}/${platformId(os, cpu, libc)}`;
}

/** Whether the release publishes a prebuilt package for this platform. */
export function isPublishedPlatform(os: string = process.platform, cpu: string = process.arch, libc: string = currentLibc()): boolean {
  const id = platformId(os, cpu, libc);
  return PLATFORM_TARGETS.some((t) => t.id === id);
}
