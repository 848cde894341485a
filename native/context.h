// Context: wraps llama_context (KV cache, batch, threads). Heavy operations (create, generate,
// embed) run as ThreadTasks; one at a time per context (the TS layer queues, this layer refuses).
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "common.h"
#include "model.h"

namespace llama_native {

struct ContextHandle {
  ModelHandlePtr model;  // keeps the weights alive as long as this context
  llama_context* ctx = nullptr;
  ggml_threadpool* threadpool = nullptr;        // generation (n_threads)
  ggml_threadpool* threadpool_batch = nullptr;  // prompt processing (n_threads_batch), when it differs
  llama_batch batch{};
  int32_t n_batch = 0;
  int32_t n_ctx = 0;
  int32_t n_seq_max = 1;
  bool embeddings = false;
  enum llama_pooling_type pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
  std::vector<llama_token> tokens;             // what sequence 0 of the KV cache holds, in order
  std::atomic<bool> busy{false};               // a task is running on this context
  std::atomic<std::atomic<bool>*> abort_now{nullptr};  // read by llama.cpp's abort callback

  ~ContextHandle();
  // After a failed or aborted decode: make `tokens` agree with what the KV cache really holds.
  void ResyncTokens();
  // llama_decode with return codes turned into sentences; returns false when aborted.
  bool Decode(const llama_batch& b, const char* what);
};
using ContextHandlePtr = std::shared_ptr<ContextHandle>;

// Marks a context busy for the lifetime of a task and points the abort callback at its flag.
class BusyScope {
 public:
  BusyScope(ContextHandle& h, std::atomic<bool>* abort) : h_(h) { h_.abort_now.store(abort); }
  ~BusyScope() {
    h_.abort_now.store(nullptr);
    h_.busy.store(false);
  }

 private:
  ContextHandle& h_;
};

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Value Create(const Napi::CallbackInfo& info);  // (model, options)
  static Napi::Object NewInstance(Napi::Env env, ContextHandlePtr handle);

  explicit Context(const Napi::CallbackInfo& info);

 private:
  // Claims the context for one task or throws (disposed, busy).
  ContextHandlePtr Claim(Napi::Env env, const char* what);

  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value Embed(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value CachedTokens(const Napi::CallbackInfo& info);
  Napi::Value ClearCache(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);

  ContextHandlePtr handle_;
};

}  // namespace llama_native
