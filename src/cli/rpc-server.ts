// llama-native rpc-server: a worker for loadModel({ rpcServers }) — ggml's RPC server from the
// vendored llama.cpp (tools/rpc/rpc-server.cpp's flags), run in this process on a native thread.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { binding } from "../binding";
import { type Command, intFlag, parse, UsageError } from "./args";

const USAGE = `llama-native rpc-server [options]
    A worker that lends this machine's devices (its GPUs, else its CPU) to a model loaded elsewhere
    with loadModel(path, { rpcServers: ["HOST:PORT"] }) (docs/rpc.md). It serves one client at a time.
    No authentication, no encryption: bind a private address or reach it through an SSH tunnel.
    -H, --host HOST     address to bind (default 127.0.0.1: this machine only)
    -p, --port N        port (default 50052)
    -t, --threads N     CPU threads (default: half the cores, as upstream's rpc-server)
    -c, --cache DIR     keep received tensors in DIR, so a reload of the same model sends hashes only
    -m, --mem MB        memory a client may allocate here, and what the worker reports to clients
                        (they split layers by it); default: the devices' own`;

/** upstream's warning (tools/rpc/rpc-server.cpp), for any address but 127.0.0.1 */
export function exposureWarning(host: string): string {
  return [
    "",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    `WARNING: Host ('${host}') is != '127.0.0.1'`,
    "         Never expose the RPC server to an open network!",
    "         This is an experimental feature and is not secure!",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    "",
  ].join("\n");
}

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    host: { type: "string", short: "H" },
    port: { type: "string", short: "p" },
    threads: { type: "string", short: "t" },
    cache: { type: "string", short: "c" },
    mem: { type: "string", short: "m" },
  });
  const host = (values.host as string | undefined) ?? "127.0.0.1";
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    // ggml's server binds with inet_addr(): an IPv4 address, not a name
    throw new UsageError(`--host must be an IPv4 address (ggml's RPC server takes no names); got ${JSON.stringify(host)}`);
  }
  const port = intFlag(values, "port", 50052, 1, 65535)!;
  const mem = intFlag(values, "mem", 0, 1, 1e9)!;
  const threads = intFlag(values, "threads", Math.max(1, Math.floor(os.availableParallelism() / 2)), 1, 1024)!;
  let cacheDir = "";
  if (values.cache !== undefined) {
    const dir = path.resolve(values.cache as string);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UsageError(`--cache: ${(e as Error).message}`);
    }
    cacheDir = dir + path.sep;
  }
  const b = binding();
  if (!b.rpcAvailable()) {
    console.error("llama-native rpc-server: this build has no RPC backend (built with LLAMA_NATIVE_RPC=OFF)");
    return 1;
  }
  if (host !== "127.0.0.1") console.error(exposureWarning(host));
  // Resolves only when the server could not start (port in use, no device): it serves until killed.
  await b.rpcStartServer(`${host}:${port}`, cacheDir, threads, mem);
  console.error(`llama-native rpc-server: the server on ${host}:${port} stopped (see above)`);
  return 1;
}

export const rpcServer: Command = {
  name: "rpc-server",
  summary: "a worker holding part of a model loaded elsewhere (docs/rpc.md)",
  usage: USAGE,
  run,
};
