// Sequence states from untrusted files: mutated states are restored in a child process (./child.ts),
// so a crash in llama.cpp's state reader fails this test instead of the run. Each restore resolves
// or rejects with InvalidStateError (native/state_check.cpp checks what llama.cpp does not).
import { describe, expect, it } from "vitest";
import { child } from "./child";

describe("mutated sequence states", () => {
  it("400 mutations of real states: each is restored or refused with InvalidStateError, never a crash", () => {
    const r = child("state-mutations.cjs", { args: ["400"], timeout: 120_000 });
    expect(r.status, r.summary).toBe(0);
    const [counts, alive] = r.stdout.trim().split("\n");
    const m = /^accepted (\d+) refused (\d+)$/.exec(counts ?? "");
    expect(m, r.summary).not.toBeNull();
    expect(Number(m![1]) + Number(m![2])).toBe(400);
    expect(Number(m![2])).toBeGreaterThan(100);
    expect(alive).toBe("alive");
  }, 130_000);
});
