// Repeated load/dispose and create/dispose must not leak, measured in a child process
// (./programs/leaks.cjs) of its own.
import { describe, expect, it } from "vitest";
import { child } from "./child";

describe("no leaks over many cycles (case 24)", () => {
  // The counts (about a minute). Two measures, read half-way and at the end, each after a GC
  // and its finalizers:
  // - the bytes the C heap has handed out and not got back (glibc mallinfo2): must grow by less than
  //   256 KB over the second half, i.e. under 512 bytes per load and 52 bytes per context (measured:
  //   a few KB over 5,000 contexts, slowing down as it goes: caches filling, not a leak);
  // - RSS, within 5 %: the lowest of three readings each way (./programs/leaks.cjs says why). Each load runs on a fresh thread, and glibc gives threads their own malloc
  //   arenas (up to 8 per core) whose free memory it keeps: that alone adds a plateau of 5-10 MB
  //   over the first thousand loads, with flat live heap bytes. The child runs with
  //   MALLOC_ARENA_MAX=2 so that RSS measures our memory rather than arena count.
  // Under the sanitizers (npm run sanitize) the cycles run for what ASan sees in them, not for memory
  // figures: its allocator quarantines freed memory, and the counts would take half an hour.
  const sanitized = process.env.LLAMA_NATIVE_SANITIZED === "1";
  const loads = sanitized ? 50 : 1000;
  const contexts = sanitized ? 500 : 10_000;
  it(`${loads} load/dispose cycles and ${contexts} context create/dispose cycles keep RSS flat`, () => {
    const r = child("leaks.cjs", {
      nodeArgs: ["--expose-gc"],
      args: [String(loads), String(contexts)],
      env: { MALLOC_ARENA_MAX: "2" },
      timeout: 1_800_000,
    });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    if (sanitized) return;
    const report = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, [[number, number], [number, number]]>;
    for (const [what, [[rssWarm, heapWarm], [rssEnd, heapEnd]]] of Object.entries(report)) {
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MB`;
      expect(heapEnd - heapWarm, `${what}: live C heap ${mb(heapWarm)} half-way, ${mb(heapEnd)} at the end`).toBeLessThan(256 * 1024);
      expect(rssEnd / rssWarm, `${what}: RSS ${mb(rssWarm)} half-way, ${mb(rssEnd)} at the end`).toBeLessThanOrEqual(1.05);
    }
  }, 1_800_000);
});
