// ggml's RPC backend (docs/rpc.md): remote workers whose devices join a model's local ones, and the
// worker itself (`llama-native rpc-server`), both through the RPC registry's proc addresses as
// llama.cpp's common/arg.cpp and tools/rpc/rpc-server.cpp use them.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ggml-backend.h"

namespace llama_native {

// One worker a model uses, with the count of failed connections to it when the model was loaded
// (vendor/patches/0009 counts them): a higher count now means the worker was lost since.
struct RpcEndpoint {
  std::string endpoint;
  uint64_t failures_at_load = 0;
};

// Connects to each server (host:port) and returns its devices, in order. Throws
// NativeError(ErrorKind::Load) naming the endpoint when one cannot be reached or speaks another
// protocol version (bounded by GGML_RPC_CONNECT_TIMEOUT_MS, default 10 s).
std::vector<ggml_backend_dev_t> RpcConnect(const std::vector<std::string>& servers, std::vector<RpcEndpoint>& endpoints);

// The first endpoint whose connection failed after `endpoints` were recorded; empty when none did.
std::string RpcLostWorker(const std::vector<RpcEndpoint>& endpoints);

// Decode return code for "a worker was lost" (llama_decode's own codes are 2..-3 here).
constexpr int32_t kDecodeRpcLost = -1000;

// rpcStartServer(endpoint, cacheDir | "", threads, memMiB = 0): runs ggml_backend_rpc_start_server on a detached
// native thread. The promise resolves only if the server stops, which it does only when it could not
// start (bind failure, no device): it serves until the process ends.
Napi::Value RpcStartServer(const Napi::CallbackInfo& info);

// rpcAvailable(): whether this build has the RPC backend.
Napi::Value RpcAvailable(const Napi::CallbackInfo& info);

}  // namespace llama_native
