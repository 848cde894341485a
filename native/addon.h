// Per-environment state (main thread and each worker_thread that loads the addon get their own).
#pragma once

#include <napi.h>

namespace llama_native {

struct AddonData {
  Napi::FunctionReference model_ctor;
  Napi::FunctionReference context_ctor;
  Napi::FunctionReference lora_ctor;
  Napi::FunctionReference projector_ctor;
  Napi::FunctionReference chat_templates_ctor;
  Napi::FunctionReference error_factory;  // (code, message) => Error, set by src/binding.ts at load
};

inline AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

#ifdef LLAMA_NATIVE_SANITIZE
// native/sanitizer_control.cpp: exports _sanitizerControl in the sanitized build only
void SanitizerControlInit(Napi::Env env, Napi::Object exports);
#endif

}  // namespace llama_native
