// LoraAdapter: wraps llama_adapter_lora. Loaded on a thread of its own from a file that
// src/lora.ts has validated; applied to a context with Context.setLoras (defined in lora.cpp).
#pragma once

#include <napi.h>

#include <memory>
#include <utility>
#include <vector>

#include "common.h"
#include "model.h"

namespace llama_native {

// Shared by the LoraAdapter wrapper and every context that applies it: freeing the adapter while a
// context still uses it would leave llama.cpp a dangling pointer, so it goes with the last user.
// It holds the model, so the model outlives it (llama_model_free frees adapters not freed before).
struct LoraHandle {
  ModelHandlePtr model;
  llama_adapter_lora* adapter = nullptr;
  ~LoraHandle();
};
using LoraHandlePtr = std::shared_ptr<LoraHandle>;
using LoraList = std::vector<std::pair<LoraHandlePtr, float>>;

extern const napi_type_tag kLoraTag;

class LoraAdapter : public Wrapped<LoraAdapter> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Value Load(const Napi::CallbackInfo& info);  // (model, path) → Promise<LoraAdapter>
  static Napi::Object NewInstance(Napi::Env env, LoraHandlePtr handle);
  // The live handle behind `value`, or a TypeError (not a LoraAdapter) / DisposedError.
  static LoraHandlePtr FromValue(Napi::Env env, Napi::Value value, const char* name);

  explicit LoraAdapter(const Napi::CallbackInfo& info);

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Meta(const Napi::CallbackInfo& info);

  LoraHandlePtr handle_;
};

}  // namespace llama_native
