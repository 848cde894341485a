// Module entry: registers the classes and functions that src/binding.ts types.
// Context-aware (NODE_API_MODULE + instance data): loads in the main thread and in worker_threads.
#include <napi.h>

#include <mutex>

#include "abort_flag.h"
#include "addon.h"
#include "common.h"
#include "context.h"
#include "log.h"
#include "model.h"

namespace llama_native {

static std::once_flag g_backend_once;

static Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("llamaCppSystemInfo", llama_print_system_info());
  o.Set("gpu", LLAMA_NATIVE_GPU);
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

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::call_once(g_backend_once, [] {
    LogInstall();
    llama_backend_init();
  });
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by node-addon-api at environment teardown

  Napi::Function model = Model::Init(env);
  data->model_ctor = Napi::Persistent(model);
  Napi::Function context = Context::Init(env);
  data->context_ctor = Napi::Persistent(context);

  exports.Set("Model", model);
  exports.Set("Context", context);
  exports.Set("AbortFlag", AbortFlag::Init(env));
  exports.Set("setLogLevel", Napi::Function::New(env, SetLogLevel, "setLogLevel"));
  exports.Set("setLogger", Napi::Function::New(env, SetLogger, "setLogger"));
  exports.Set("systemInfo", Napi::Function::New(env, SystemInfo, "systemInfo"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return exports;
}

}  // namespace llama_native

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return llama_native::Init(env, exports); }

NODE_API_MODULE(llama_native, InitModule)
