// ggml RPC (docs/rpc.md): a model split over two workers on 127.0.0.1 (child processes running
// `llama-native rpc-server`, as a user would start them) and the local CPU. The oracle is the same
// model loaded locally (itself checked against llama.cpp's llama-simple in real-model.test.ts): greedy
// generation must agree token for token. Faults: an unreachable worker, one that is not an RPC
// server, one that never answers, and a worker killed in the middle of a generation.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Model, ModelLoadError, RpcError, loadModel, setLogLevel, setLogger } from "../../dist/index.mjs";
import { realModelPath, root, timeScale } from "../helpers";

const bin = path.join(root, "bin", "llama-native.mjs");
const generated = path.join(root, "test", "fixtures", "generated");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Worker {
  proc: ChildProcess;
  endpoint: string;
  port: number;
  output: () => string;
}

/** Starts `llama-native rpc-server --port P` and waits until it prints that it serves. */
async function startWorker(port?: number, extra: string[] = []): Promise<Worker> {
  const p = port ?? (await freePort());
  const proc = spawn(process.execPath, [bin, "rpc-server", "--port", String(p), "--threads", "1", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 30_000 * timeScale;
  // ggml's server prints its transport line just before it binds; then the port answers
  while (!out.includes("transport")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`rpc-server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200));
  if (proc.exitCode !== null) throw new Error(`rpc-server exited:\n${out}`);
  return { proc, endpoint: `127.0.0.1:${p}`, port: p, output: () => out };
}

async function stopWorker(w: Worker | undefined): Promise<void> {
  if (!w || w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  const gone = new Promise((r) => w.proc.once("exit", r));
  w.proc.kill("SIGKILL");
  await gone;
}

async function greedy(model: Model, prompt: string, n: number): Promise<number[]> {
  const ctx = await model.createContext({ contextSize: 256 });
  try {
    const r = await ctx.complete(prompt, { temperature: 0, maxTokens: n });
    return [...r.tokens];
  } finally {
    await ctx.dispose();
  }
}

let workers: Worker[] = [];
beforeAll(async () => {
  workers = [await startWorker(), await startWorker()];
}, 60_000 * timeScale);
afterAll(async () => {
  for (const w of workers) await stopWorker(w);
});

describe("ggml RPC", () => {
  it("the CLI refuses a bad flag and a host name, and warns for a non-loopback address", async () => {
    const { spawnSync } = await import("node:child_process");
    const bad = spawnSync(process.execPath, [bin, "rpc-server", "--port", "0"], { encoding: "utf8" });
    expect(bad.status, bad.stderr).toBe(2);
    const name = spawnSync(process.execPath, [bin, "rpc-server", "--host", "localhost"], { encoding: "utf8" });
    expect(name.status, name.stderr).toBe(2);
    const { exposureWarning } = await import("../../dist/cli/rpc-server.js");
    expect(exposureWarning("0.0.0.0")).toContain("Never expose the RPC server to an open network!");
  });

  it(
    "tiny random model: split over two workers and the local CPU, greedy output equals local",
    async () => {
      const file = inject("tinyModel");
      const local = await loadModel(file);
      const want = await greedy(local, "Once upon a time", 24);
      await local.dispose();
      // 2 layers + output: gpuLayers 2 keeps layer 0 local, layer 1 and the output go to the workers
      const split = await loadModel(file, { rpcServers: workers.map((w) => w.endpoint), gpuLayers: 2, tensorSplit: [1, 1] });
      expect(await greedy(split, "Once upon a time", 24)).toEqual(want);
      await split.dispose();
    },
    120_000 * timeScale,
  );

  const real = realModelPath();
  it.runIf(real)(
    "stories260K: split over two workers and the local CPU, greedy output equals local",
    async () => {
      const local = await loadModel(real!);
      const layers = local.info.layers;
      expect(local.info.devices).toMatchObject([{ name: "CPU", type: "cpu", layers, output: true }]);
      const want = await greedy(local, "Once upon a time", 48);
      await local.dispose();
      // layers 0-1 stay local; the rest and the output layer are split across the two workers.
      // llama.cpp's own load log is the oracle for model.info.devices: it says how many layers it
      // offloaded and how large each device's weight buffer is (in MiB, two decimals).
      const log: string[] = [];
      setLogLevel("info");
      setLogger((_level, text) => log.push(text));
      let split: Model;
      try {
        split = await loadModel(real!, { rpcServers: workers.map((w) => w.endpoint), gpuLayers: layers - 1 });
      } finally {
        setLogger(null);
        setLogLevel("error");
      }
      const devices = split.info.devices;
      expect(devices.map((d) => d.name)).toEqual(["CPU", "RPC0", "RPC1"].slice(0, devices.length));
      expect(devices.slice(1).map((d) => d.description)).toEqual(workers.map((w) => w.endpoint));
      expect(devices.reduce((n, d) => n + d.layers, 0)).toBe(layers);
      expect(devices.filter((d) => d.output).map((d) => d.name)).toEqual(["RPC1"]);
      const text = log.join("");
      const offloaded = Number(/offloaded (\d+)\/\d+ layers/.exec(text)?.[1]);
      const remote = devices.filter((d) => d.type !== "cpu");
      expect(remote.reduce((n, d) => n + d.layers + (d.output ? 1 : 0), 0)).toBe(offloaded);
      const mib = (name: string) =>
        Number(new RegExp(`${name.replace(/[[\].]/g, "\\$&")} model buffer size =\\s+([\\d.]+) MiB`).exec(text)?.[1]);
      expect((devices[0].bytes / 2 ** 20).toFixed(2)).toBe(mib("CPU_Mapped").toFixed(2));
      for (const d of remote) expect((d.bytes / 2 ** 20).toFixed(2)).toBe(mib(`[${d.description}]`).toFixed(2));
      expect(await greedy(split, "Once upon a time", 48)).toEqual(want);
      await split.dispose();
    },
    120_000 * timeScale,
  );

  it(
    "a ~100M-parameter random model: greedy output equals local",
    async () => {
      const { makeRandomLlama } = await import(path.join(root, "scripts", "make-model.mjs"));
      const file = path.join(generated, "rpc-random-100m-q8_0.gguf");
      if (!fs.existsSync(file)) {
        fs.mkdirSync(generated, { recursive: true });
        // 32000 x 640 embeddings and output (41M) + 10 layers of 5.1M = 92M parameters
        await makeRandomLlama({
          embd: 640,
          layers: 10,
          heads: 10,
          headsKv: 5,
          ff: 1792,
          ctx: 512,
          seed: 12,
          outputSigma: 1,
          type: "q8_0",
          out: file,
        });
      }
      const local = await loadModel(file);
      expect(local.info.nParams).toBeGreaterThan(80e6);
      const want = await greedy(local, "The quick brown fox", 16);
      await local.dispose();
      const split = await loadModel(file, { rpcServers: workers.map((w) => w.endpoint), gpuLayers: 8, tensorSplit: [2, 1] });
      expect(await greedy(split, "The quick brown fox", 16)).toEqual(want);
      await split.dispose();
    },
    300_000 * timeScale,
  );

  it("an unreachable worker is a ModelLoadError naming it, at once", async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await loadModel(inject("tinyModel"), { rpcServers: [`127.0.0.1:${port}`] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect(Date.now() - t0).toBeLessThan(5_000 * timeScale);
  });

  it("a server that is not an RPC server, or never answers, is a ModelLoadError within the connect timeout", async () => {
    const sockets: net.Socket[] = [];
    // the client gives up and resets the connection: an 'error' on our side of it is expected
    const garbage = net.createServer((s) => s.on("error", () => {}).end(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")));
    const silent = net.createServer((s) => sockets.push(s.on("error", () => {})));
    await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const before = process.env.GGML_RPC_CONNECT_TIMEOUT_MS;
    process.env.GGML_RPC_CONNECT_TIMEOUT_MS = "1500";
    try {
      for (const server of [garbage, silent]) {
        const endpoint = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
        const t0 = Date.now();
        const err = await loadModel(inject("tinyModel"), { rpcServers: [endpoint] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ModelLoadError);
        expect((err as Error).message).toContain(endpoint);
        expect((err as Error).message).toContain("handshake");
        expect(Date.now() - t0).toBeLessThan(10_000 * timeScale);
      }
    } finally {
      if (before === undefined) delete process.env.GGML_RPC_CONNECT_TIMEOUT_MS;
      else process.env.GGML_RPC_CONNECT_TIMEOUT_MS = before;
      for (const s of sockets) s.destroy();
      garbage.close();
      silent.close();
    }
  });

  it("a worker's --mem bounds what a client may allocate there: a model that does not fit is a ModelLoadError", async () => {
    const small = await startWorker(undefined, ["--mem", "1"]);
    try {
      // the tiny model's weights are 4M f32 parameters (16 MB): all layers on a 1 MiB worker cannot fit
      const err = await loadModel(inject("tinyModel"), { rpcServers: [small.endpoint] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect(small.output()).toContain("--mem");
    } finally {
      await stopWorker(small);
    }
  });

  it("rejects malformed rpcServers and tensorSplit before anything is loaded", async () => {
    const file = inject("tinyModel");
    await expect(loadModel(file, { rpcServers: ["nohost"] })).rejects.toThrow(TypeError);
    await expect(loadModel(file, { rpcServers: ["127.0.0.1:70000"] })).rejects.toThrow(RangeError);
    await expect(loadModel(file, { tensorSplit: [-1] })).rejects.toThrow(TypeError);
    // more split entries than devices: a ModelLoadError that says how many there are
    const err = await loadModel(file, { rpcServers: [workers[0]!.endpoint], tensorSplit: [1, 1, 1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(/tensorSplit has 3 entries/);
  });

  it(
    "a worker killed mid-generation ends it with RpcError; the model disposes; a restarted worker serves a new load",
    async () => {
      const file = inject("tinyModel");
      const local = await loadModel(file);
      const want = await greedy(local, "Once upon a time", 24);
      await local.dispose();

      const victim = await startWorker();
      const model = await loadModel(file, { rpcServers: [workers[0]!.endpoint, victim.endpoint], gpuLayers: 2, tensorSplit: [1, 1] });
      const ctx = await model.createContext({ contextSize: 4096 });
      let chunks = 0;
      let killed = false;
      const err = await (async () => {
        try {
          for await (const _ of ctx.generate("Once upon a time", { temperature: 0, maxTokens: 3000 })) {
            chunks++;
            if (chunks === 5 && !killed) {
              killed = true;
              await stopWorker(victim);
            }
          }
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(killed).toBe(true);
      expect(err, `generation ended without an error after ${chunks} chunks`).toBeInstanceOf(RpcError);
      expect((err as Error).message).toContain(victim.endpoint);
      // the context stays usable as an object: a new generation fails the same way, promptly
      await expect(ctx.complete("again", { maxTokens: 4 })).rejects.toBeInstanceOf(RpcError);
      // the worker comes back on the same port, started while this process still holds its
      // connection to worker 0: the child must not inherit that socket (vendor/patches/0009 makes
      // ggml's sockets close-on-exec; without it worker 0 never saw the connection close, stayed busy
      // with it, and the load below timed out in the handshake)
      const restarted = await startWorker(victim.port);
      await ctx.dispose();
      await model.dispose();

      // a new load works and computes what the local model does
      try {
        const again = await loadModel(file, {
          rpcServers: [workers[0]!.endpoint, restarted.endpoint],
          gpuLayers: 2,
          tensorSplit: [1, 1],
        }).catch((e: Error) => {
          throw new Error(`${e.message}\nworker 0 (${workers[0]!.endpoint}):\n${workers[0]!.output()}\nrestarted:\n${restarted.output()}`);
        });
        expect(await greedy(again, "Once upon a time", 24)).toEqual(want);
        await again.dispose();
      } finally {
        await stopWorker(restarted);
      }
    },
    120_000 * timeScale,
  );
});
