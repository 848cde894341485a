// Context: the JS object that wraps a ContextHandle (context_handle.h). Creation (context_create.h)
// and embeddings (embed.h) run as ThreadTasks, one at a time per context (the TS layer queues, this
// layer refuses); generations run on the context's engine (engine.h), several at once when the
// context has several sequences.
#pragma once

#include <napi.h>

#include "common.h"
#include "context_handle.h"

namespace llama_native {

class Context : public Wrapped<Context> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, ContextHandlePtr handle);

  explicit Context(const Napi::CallbackInfo& info);

 private:
  // The live handle, or a DisposedError.
  ContextHandle& Live(Napi::Env env);
  // Claims the context for one task or throws (disposed, busy).
  ContextHandlePtr Claim(Napi::Env env, const char* what);

  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value Embed(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value CachedTokens(const Napi::CallbackInfo& info);
  Napi::Value ClearCache(const Napi::CallbackInfo& info);
  Napi::Value AcquireSequence(const Napi::CallbackInfo& info);
  Napi::Value ReleaseSequence(const Napi::CallbackInfo& info);
  Napi::Value SetLoras(const Napi::CallbackInfo& info);  // lora.cpp
  Napi::Value GetState(const Napi::CallbackInfo& info);  // state.cpp
  Napi::Value SetState(const Napi::CallbackInfo& info);  // state.cpp
  Napi::Value SaveState(const Napi::CallbackInfo& info);  // state.cpp
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  // Reads an optional sequence argument at `i` (default `fallback`), checked against the context's sequences.
  static int32_t ArgSequence(const Napi::CallbackInfo& info, size_t i, const ContextHandle& h, int32_t fallback);

  ContextHandlePtr handle_;
};

}  // namespace llama_native
