// Module entry: registers the classes and functions that src/binding.ts types.
// Context-aware (NODE_API_MODULE + instance data): loads in the main thread and in worker_threads.
#include <napi.h>

#include <algorithm>
#include <mutex>
#include <optional>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string>

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#ifdef LLAMA_NATIVE_BACKEND_DL
#include <sys/stat.h>
#endif
#endif

#include "../vendor/llama.cpp/common/log.h"
#include "abort_flag.h"
#include "addon.h"
#include "chat_parser.h"
#include "chat_templates.h"
#include "common.h"
#include "context.h"
#include "exit_gate.h"
#include "log.h"
#include "lora.h"
#include "model.h"
#include "mtmd.h"
#include "params.h"
#include "quantize.h"
#include "rpc.h"

namespace llama_native {

static std::once_flag g_backend_once;
static std::string g_backend_error;

#ifdef LLAMA_NATIVE_BACKEND_DL
// The folder this .node was loaded from (the backends of a portable build sit there).
static std::string AddonDir() {
#ifdef _WIN32
  HMODULE mod = nullptr;
  char path[MAX_PATH];
  if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                          reinterpret_cast<LPCSTR>(&AddonDir), &mod) ||
      GetModuleFileNameA(mod, path, MAX_PATH) == 0) {
    return ".";
  }
  std::string p(path);
  return p.substr(0, p.find_last_of("\\/"));
#else
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&AddonDir), &info) == 0 || info.dli_fname == nullptr) return ".";
  std::string p(info.dli_fname);
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
#endif
}

static bool IsDir(const std::string& p) {
#ifdef _WIN32
  DWORD a = GetFileAttributesA(p.c_str());
  return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
#else
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
#endif
}

// Loads the backend modules (the best CPU variant for this CPU, and any GPU backend present).
static void LoadBackends() {
  std::string dir = AddonDir();
  std::string libdir = dir + "/" LLAMA_NATIVE_LIBDIR;
  ggml_backend_load_all_from_path(IsDir(libdir) ? libdir.c_str() : dir.c_str());
  if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) == nullptr) {
    g_backend_error = "no CPU backend could be loaded from " + (IsDir(libdir) ? libdir : dir) +
                      " (the libggml-cpu-*.so variants must sit there, and one must suit this CPU)";
  }
}
#endif

static Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("llamaCppSystemInfo", llama_print_system_info());
  o.Set("gpu", LLAMA_NATIVE_GPU);
#ifdef LLAMA_NATIVE_BACKEND_DL
  o.Set("portable", true);
#else
  o.Set("portable", false);
#endif
  Napi::Array regs = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_reg_count(); i++) {
    regs.Set(static_cast<uint32_t>(i), ggml_backend_reg_name(ggml_backend_reg_get(i)));
  }
  o.Set("backends", regs);
  o.Set("supportsGpuOffload", llama_supports_gpu_offload());
  o.Set("supportsMmap", llama_supports_mmap());
  o.Set("maxSequences", static_cast<double>(llama_max_parallel_sequences()));
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    devices.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("devices", devices);
  return o;
}

// Bytes the C heap has handed out and not got back (glibc's mallinfo2): unlike RSS, free memory
// kept by the allocator does not count. For the leak tests; undefined where unknown.
static Napi::Value NativeHeap(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  return Napi::Number::New(info.Env(), static_cast<double>(mi.uordblks + mi.hblkhd));
#else
  return info.Env().Undefined();
#endif
}

// closeForExit(timeoutMs): exit_gate::Close(); returns how many operations were still in llama.cpp.
static Napi::Value CloseForExit(const Napi::CallbackInfo& info) {
  double ms = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  int timeout = ms > 0 ? static_cast<int>(std::min(ms, 600000.0)) : 0;
  return Napi::Number::New(info.Env(), exit_gate::Close(timeout));
}

// setErrorFactory(fn): errors the addon raises from now on are made by fn(code, message).
static Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) Throw(env, ErrorKind::Type, "setErrorFactory takes a function");
  GetAddonData(env)->error_factory = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

// Node runs its main thread on libuv's default loop and each worker_thread on a loop of its own, so
// this tells binding.ts where it runs without loading node:worker_threads (about a megabyte of every
// process's RSS with the stream modules it brings). uv_default_loop is looked up in the running
// executable: the N-API headers this builds with declare no libuv. Unknown (nullopt) when it is not
// exported there; binding.ts then asks node:worker_threads.
static std::optional<bool> OnMainThread(napi_env env) {
  using DefaultLoop = uv_loop_s* (*)();
#ifdef _WIN32
  auto fn = reinterpret_cast<DefaultLoop>(reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(nullptr), "uv_default_loop")));
#else
  auto fn = reinterpret_cast<DefaultLoop>(dlsym(RTLD_DEFAULT, "uv_default_loop"));
#endif
  uv_loop_s* loop = nullptr;
  if (fn == nullptr || napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return std::nullopt;
  return loop == fn();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::call_once(g_backend_once, [] {
    LogInstall();
#ifdef LLAMA_NATIVE_BACKEND_DL
    LoadBackends();
#endif
    llama_backend_init();
    // llama.cpp's common/ library logs through a worker thread of its own that writes to stderr;
    // paused, it has no thread and drops its messages (the chat pipeline reports through exceptions).
    common_log_pause(common_log_main());
  });
  if (!g_backend_error.empty()) Throw(env, ErrorKind::Generic, "llama-native: " + g_backend_error);
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by node-addon-api at environment teardown

  Napi::Function model = Model::Init(env);
  data->model_ctor = Napi::Persistent(model);
  Napi::Function context = Context::Init(env);
  data->context_ctor = Napi::Persistent(context);

  Napi::Function lora = LoraAdapter::Init(env);
  data->lora_ctor = Napi::Persistent(lora);

  exports.Set("Model", model);
  exports.Set("LoraAdapter", lora);
  exports.Set("Projector", Projector::Init(env));
  exports.Set("Context", context);
  exports.Set("AbortFlag", AbortFlag::Init(env));
  Napi::Function chat_templates = ChatTemplates::Init(env);
  data->chat_templates_ctor = Napi::Persistent(chat_templates);
  exports.Set("ChatTemplates", chat_templates);
  exports.Set("ChatParser", ChatParser::Init(env));
  const auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  fn("setLogLevel", GuardedFn<SetLogLevel>);
  fn("setLogger", GuardedFn<SetLogger>);
  fn("setErrorFactory", GuardedFn<SetErrorFactory>);
  fn("quantize", GuardedFn<Quantize>);
  fn("jsonSchemaToGrammar", GuardedFn<JsonSchemaToGrammar>);
  fn("nativeHeapBytes", GuardedFn<NativeHeap>);
  fn("closeForExit", GuardedFn<CloseForExit>);
  fn("systemInfo", GuardedFn<SystemInfo>);
  fn("paramTables", GuardedFn<ParamTablesToJs>);
  fn("rpcStartServer", GuardedFn<RpcStartServer>);
  fn("rpcAvailable", GuardedFn<RpcAvailable>);
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  if (auto main = OnMainThread(env)) exports.Set("mainThread", Napi::Boolean::New(env, *main));
#ifdef LLAMA_NATIVE_SANITIZE
  SanitizerControlInit(env, exports);
#endif
  return exports;
}

}  // namespace llama_native

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return llama_native::Init(env, exports); }

NODE_API_MODULE(llama_native, InitModule)
