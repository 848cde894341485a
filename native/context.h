// Context: wraps llama_context (KV cache, batch, threads). Creation and embedding run as
// ThreadTasks, one at a time per context (the TS layer queues, this layer refuses); generations run
// on the context's engine (engine.h), several at once when the context has several sequences.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "common.h"
#include "engine.h"
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
  int32_t n_ctx_seq = 0;  // positions one sequence may use (n_ctx when the KV cache is unified)
  int32_t n_seq_max = 1;
  int32_t n_threads = 1;        // for single-token decodes
  int32_t n_threads_batch = 1;  // for the rest
  int32_t threads_now = 0;      // what the last decode ran with (Decode, on the decoding thread)
  bool embeddings = false;
  enum llama_pooling_type pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
  std::vector<std::vector<llama_token>> seq_tokens;  // what each sequence of the KV cache holds, in order
  std::atomic<bool> busy{false};               // a ThreadTask (embed) or clearCache is using this context
  std::atomic<std::atomic<bool>*> abort_now{nullptr};  // read by llama.cpp's abort callback
  std::unique_ptr<Engine> engine;              // generation scheduler; made on first use (JS thread)

  ~ContextHandle();
  Engine& GetEngine();
  // True when nothing runs on this context (no task, no stream). JS thread.
  bool Idle();
  // After a failed or aborted decode: make `seq_tokens[seq]` agree with what the KV cache holds.
  void ResyncTokens(int32_t seq);
  // llama_decode/llama_encode of `batch` with the threads a CpuLease grants (cpu_budget.h), its
  // abort errors kept out of the log; when another context waits for the cores, this one's thread
  // pool goes to sleep instead of spinning on them.
  int32_t Decode(const llama_batch& batch, bool encode = false);

 private:
  void UseThreads(int32_t n);
  void PausePools();
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
  // Reads an optional sequence argument at `i` (default 0), checked against the context's sequences.
  static int32_t ArgSequence(const Napi::CallbackInfo& info, size_t i, const ContextHandle& h, int32_t fallback);
  Napi::Value ClearCache(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);

  ContextHandlePtr handle_;
};

}  // namespace llama_native
