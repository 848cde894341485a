// ContextHandle: a llama_context with what the addon keeps beside it (batch, thread pools, what each
// KV sequence holds, the generation engine), shared by the Context wrapper and every task or stream
// running on it, so it outlives all of them.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "common.h"
#include "engine.h"
#include "lora.h"
#include "model.h"
#include "speculative.h"
#include "thread_tuner.h"

namespace llama_native {

struct ContextHandle {
  ModelHandlePtr model;  // keeps the weights alive as long as this context
  LoraList loras;  // the adapters llama.cpp applies (setLoras); kept alive while it points at them
  llama_context* ctx = nullptr;
  ggml_threadpool* threadpool = nullptr;  // generation (n_threads)
  ggml_threadpool* threadpool_batch = nullptr;  // prompt processing (n_threads_batch), when it differs
  llama_batch batch{};
  int32_t n_batch = 0;
  int32_t n_ctx = 0;
  int32_t n_ctx_seq = 0;  // positions one sequence may use (n_ctx when the KV cache is unified)
  int32_t n_seq_max = 1;
  int32_t n_threads = 1;  // for single-token decodes
  int32_t n_threads_batch = 1;  // for the rest
  std::array<ThreadTuner, ThreadTuner::kBuckets> tuners;  // by batch size (ThreadTuner::Bucket); Decode, on the decoding thread
  int32_t threads_now = 0;  // what the last decode ran with (Decode, on the decoding thread)
  bool embeddings = false;
  bool shift_enabled = false;  // contextShift: a full sequence drops old tokens instead of ending (context_shift.h)
  int32_t shift_keep = 0;  // llama.cpp's n_keep: prompt tokens kept besides BOS; -1: the whole prompt
  enum llama_pooling_type pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
  std::vector<std::vector<llama_token>> seq_tokens;  // what each sequence of the KV cache holds, in order
  std::atomic<bool> busy{false};  // a ThreadTask (embed) or clearCache is using this context
  std::atomic<std::atomic<bool>*> abort_now{nullptr};  // read by llama.cpp's abort callback
  std::unique_ptr<Engine> engine;  // generation scheduler; made on first use (JS thread)
  std::unique_ptr<Speculator> spec;  // createContext({ speculative }); used by the engine thread

  ~ContextHandle();
  Engine& GetEngine();
  // True when nothing runs on this context (no task, no stream). JS thread.
  bool Idle();
  // After a failed or aborted decode: make `seq_tokens[seq]` agree with what the KV cache holds.
  void ResyncTokens(int32_t seq);
  // Creation only: makes the thread pools (paused; `poll` is ggml's spin setting) and attaches them.
  void CreateThreadpools(uint32_t poll);
  // Points llama.cpp's abort callback at this handle (abort_now, the engine's batch, the exit gate).
  void InstallAbortCallback();
  // llama_decode/llama_encode of `batch` with the threads a CpuLease grants (cpu_budget.h), its
  // abort errors kept out of the log; when another context waits for the cores, this one's thread
  // pool goes to sleep instead of spinning on them.
  int32_t Decode(const llama_batch& batch, bool encode = false);
  // Puts the thread pools to sleep: before work of other threads (a projector's encoder) that their
  // spinning workers would otherwise compete with for the cores.
  void PausePools();

 private:
  void UseThreads(int32_t n);
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

}  // namespace llama_native
