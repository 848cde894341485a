// Which prebuilt-binary package serves which platform. One small package per platform carries that
// platform's prebuild (prebuilds/<platform>-<arch>/…, node-gyp-build's layout); the published
// llama-native lists every one of them in optionalDependencies, and npm installs only the one whose
// os/cpu/libc match. The loader (binding.ts), the install hook and scripts/packages.mjs (which makes
// the packages from prebuilds/) all take the names from here.

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

/** The C library of this process on Linux ("glibc" or "musl"); "" elsewhere. */
export function currentLibc(): "glibc" | "musl" | "" {
  if (process.platform !== "linux") return "";
  const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ? "glibc" : "musl";
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
