#include "rpc.h"

#include <cstdio>
#include <cstring>
#include <thread>

#include "common.h"

namespace llama_native {

namespace {

using AddServerFn = ggml_backend_reg_t (*)(const char* endpoint);
using FailuresFn = uint64_t (*)(const char* endpoint);
using MemoryLimitFn = void (*)(size_t bytes);
using StartServerFn = void (*)(const char* endpoint, const char* cache_dir, size_t n_threads, size_t n_devices,
                               ggml_backend_dev_t* devices);

ggml_backend_reg_t RpcReg() { return ggml_backend_reg_by_name("RPC"); }

template <typename Fn>
Fn Proc(const char* name) {
  ggml_backend_reg_t reg = RpcReg();
  return reg == nullptr ? nullptr : reinterpret_cast<Fn>(ggml_backend_reg_get_proc_address(reg, name));
}

uint64_t Failures(const std::string& endpoint) {
  static FailuresFn fn = Proc<FailuresFn>("ggml_backend_rpc_endpoint_failures");
  return fn == nullptr ? 0 : fn(endpoint.c_str());
}

// host:port with a port in [1, 65535]; ggml-rpc's own parser takes anything std::stoi accepts.
bool ValidEndpoint(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size() || s.size() > 255) return false;
  long port = 0;
  for (size_t i = colon + 1; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    port = port * 10 + (s[i] - '0');
    if (port > 65535) return false;
  }
  return port >= 1 && s.find(':') == colon;
}

}  // namespace

std::vector<ggml_backend_dev_t> RpcConnect(const std::vector<std::string>& servers, std::vector<RpcEndpoint>& endpoints) {
  std::vector<ggml_backend_dev_t> devices;
  if (servers.empty()) return devices;
  auto add_server = Proc<AddServerFn>("ggml_backend_rpc_add_server");
  if (add_server == nullptr) throw NativeError(ErrorKind::Load, "this build of llama-native has no RPC backend (LLAMA_NATIVE_RPC=OFF)");
  for (const std::string& server : servers) {
    if (!ValidEndpoint(server)) throw NativeError(ErrorKind::Load, "invalid RPC server '" + server + "': expected host:port");
    ggml_backend_reg_t reg = nullptr;
    try {
      // connects, says HELLO and asks for the device count (vendor/patches/0009: throws, not aborts)
      reg = add_server(server.c_str());
    } catch (const std::exception& e) {
      throw NativeError(ErrorKind::Load, "RPC server " + server + " is not usable: " + e.what());
    }
    if (reg == nullptr) throw NativeError(ErrorKind::Load, "RPC server " + server + " reports no devices");
    const uint64_t failures = Failures(server);
    size_t n = ggml_backend_reg_dev_count(reg);
    for (size_t i = 0; i < n; i++) devices.push_back(ggml_backend_reg_dev_get(reg, i));
    endpoints.push_back({server, failures});
  }
  return devices;
}

std::string RpcLostWorker(const std::vector<RpcEndpoint>& endpoints) {
  for (const RpcEndpoint& e : endpoints) {
    if (Failures(e.endpoint) > e.failures_at_load) return e.endpoint;
  }
  return "";
}

namespace {

struct ServerRun {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  explicit ServerRun(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

}  // namespace

Napi::Value RpcStartServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string endpoint = ArgString(info, 0, "endpoint");
  std::string cache_dir = ArgString(info, 1, "cacheDir");
  if (info.Length() < 3 || !info[2].IsNumber()) Throw(env, ErrorKind::Type, "threads must be a number");
  double mem_mb = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : 0;
  if (!(mem_mb >= 0 && mem_mb <= 1e9) || mem_mb != static_cast<double>(static_cast<int64_t>(mem_mb))) {
    Throw(env, ErrorKind::Range, "mem must be an integer number of MiB in [0, 1e9]");
  }
  double threads = info[2].As<Napi::Number>().DoubleValue();
  if (!(threads >= 1 && threads <= 1024) || threads != static_cast<double>(static_cast<int>(threads))) {
    Throw(env, ErrorKind::Range, "threads must be an integer in [1, 1024]");
  }
  if (!ValidEndpoint(endpoint)) Throw(env, ErrorKind::Range, "endpoint must be host:port; got '" + endpoint + "'");
  auto start = Proc<StartServerFn>("ggml_backend_rpc_start_server");
  if (start == nullptr) Throw(env, ErrorKind::Generic, "this build of llama-native has no RPC backend (LLAMA_NATIVE_RPC=OFF)");

  // As tools/rpc/rpc-server.cpp: the accelerators when there are any, else the CPU.
  std::vector<ggml_backend_dev_t> devices;
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_CPU && ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_ACCEL) {
      devices.push_back(dev);
    }
  }
  if (devices.empty()) {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (cpu != nullptr) devices.push_back(cpu);
  }
  if (devices.empty()) Throw(env, ErrorKind::Generic, "no device to serve");
  if (mem_mb > 0) {
    auto set_limit = Proc<MemoryLimitFn>("ggml_backend_rpc_set_server_memory_limit");
    if (set_limit == nullptr) Throw(env, ErrorKind::Generic, "this build's RPC backend has no memory limit");
    set_limit(static_cast<size_t>(mem_mb) * 1024 * 1024);
  }

  auto* run = new ServerRun(env);
  Napi::Promise promise = run->deferred.Promise();
  // The TSFN keeps the event loop (and so the process) alive while the server runs.
  run->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "llama-native rpc-server", 0,
                                            1, [run](Napi::Env) {
                                              run->deferred.Resolve(run->deferred.Env().Undefined());
                                              delete run;
                                            });
  // A detached thread, not a ThreadTask: the server never returns while it serves, so nothing may
  // wait to join it at exit; the process ends it.
  // ggml's server reports with printf: line-buffered, so that a supervisor reading a pipe sees each
  // line when it is printed (by default a pipe is block-buffered until exit)
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::thread([run, start, endpoint, cache_dir, threads, devices]() mutable {
    try {
      start(endpoint.c_str(), cache_dir.empty() ? nullptr : cache_dir.c_str(), static_cast<size_t>(threads), devices.size(),
            devices.data());
    } catch (...) {
      // ggml's server reports its own failures on stderr; an exception ends it the same way
    }
    run->tsfn.Release();
  }).detach();
  return promise;
}

Napi::Value RpcAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Proc<AddServerFn>("ggml_backend_rpc_add_server") != nullptr);
}

}  // namespace llama_native
