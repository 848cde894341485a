// The order OpQueue gives a context's calls, and that it holds nothing of settled operations (it
// used to chain every shared operation's result into its tail: a server kept them all).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { OpQueue } from "../../dist/op-queue.js";
import { root } from "../helpers";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("OpQueue", () => {
  it("exclusive operations run one at a time, in call order; a failure does not stop the queue", async () => {
    const q = new OpQueue();
    const log: string[] = [];
    const op =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await tick();
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const a = q.exclusive(op("a"));
    const b = q.exclusive(op("b", true));
    const c = q.exclusive(op("c"));
    await expect(a).resolves.toBe("a");
    await expect(b).rejects.toThrow("b");
    await expect(c).resolves.toBe("c");
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("shared operations run together after the last exclusive one; the next exclusive waits for them all", async () => {
    const q = new OpQueue();
    const log: string[] = [];
    const op = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
    };
    const x = q.exclusive(op("x", 10));
    const s1 = q.shared(op("s1", 20));
    const s2 = q.shared(op("s2", 5));
    const y = q.exclusive(op("y", 1));
    await Promise.all([x, s1, s2, y]);
    expect(log.slice(0, 2)).toEqual(["start x", "end x"]);
    expect(log.slice(2, 4).sort()).toEqual(["start s1", "start s2"]); // both begin before either ends
    expect(log.slice(-2)).toEqual(["start y", "end y"]);
    expect(log.indexOf("end s1")).toBeLessThan(log.indexOf("start y"));
  });

  it("idle() settles once everything queued so far has settled, rejected ones included", async () => {
    const q = new OpQueue();
    let done = 0;
    void q.shared(async () => {
      await tick(10);
      done++;
    });
    q.exclusive(async () => {
      await tick(5);
      done++;
      throw new Error("x");
    }).catch(() => undefined);
    expect(await q.idle()).toBeUndefined();
    expect(done).toBe(2);
    expect(await new OpQueue().idle()).toBeUndefined();
  });

  it("keeps no settled operation's result reachable (10,000 shared operations, then a full GC)", () => {
    // in a child process with --expose-gc: WeakRefs to every result must all be cleared
    const code = `
      const { OpQueue } = require(${JSON.stringify(path.join(root, "dist", "op-queue.js"))});
      (async () => {
        const q = new OpQueue();
        const refs = [];
        const long = q.shared(() => new Promise((r) => setTimeout(r, 50))); // one in flight throughout
        for (let i = 0; i < 10000; i++) {
          await q.shared(async () => { const r = { payload: new Array(16).fill(i) }; refs.push(new WeakRef(r)); return r; });
        }
        await long;
        await q.idle();
        await new Promise((r) => setTimeout(r, 0));
        global.gc();
        console.log(refs.filter((w) => w.deref() !== undefined).length);
      })();`;
    const r = spawnSync(process.execPath, ["--expose-gc", "-e", code], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(Number(r.stdout.trim())).toBe(0);
  });
});
