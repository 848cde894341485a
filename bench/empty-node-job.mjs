// The floor under llama-native's and node-llama-cpp's peak RSS: a Node process that runs an ES module,
// as their jobs (bench/llama-native-job.mjs, bench/peer-node-llama-cpp.mjs) do, and imports nothing
// but what they import from Node. Node's ES module loader is part of every job's figure and of none
// of the packages': an empty `node -e` script (CommonJS) peaks 2.5 MB lower than this one here.
import { readFileSync } from "node:fs";

try {
  console.log(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
} catch {
  console.log(process.resourceUsage().maxRSS);
}
