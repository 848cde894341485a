// Preloaded with NODE_OPTIONS=--require: emulates a model that kills llama.cpp by crashing only
// the preflight trial process (dist/preflight-child.js) with SIGSEGV.
if ((process.argv[1] || "").endsWith("preflight-child.js")) setImmediate(() => process.kill(process.pid, "SIGSEGV"));
