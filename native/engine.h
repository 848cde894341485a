// Engine: the scheduler that runs a context's generations (continuous batching).
//
// One thread per context. Each step it puts, in one llama_batch, the next token of every stream
// that is generating and then as many prompt tokens of starting streams as the batch has room for,
// decodes once, and samples each stream from its own output row with its own sampler. A stream may
// join or leave between any two steps; streams beyond the context's sequences wait in call order.
// With one sequence this is the plain generation loop. Every stream gets one token per step, so no
// stream can starve another.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common.h"
#include "cpu_budget.h"
#include "speculative.h"

namespace llama_native {

struct ContextHandle;
class Stream;

class Engine {
 public:
  explicit Engine(ContextHandle& h);
  ~Engine();  // JS thread; every stream has been released by then (each holds the context)

  void Submit(Stream* s);  // JS thread
  void AbortAll();  // JS thread: raise the flag of every pending and active stream
  bool Idle();  // no stream pending or active
  bool IdleLocked() const { return pending_.empty() && active_.empty(); }  // caller holds mutex()
  void WaitReleased(Stream* s);  // JS thread: until the engine no longer touches `s`
  bool BatchAborted() const;  // engine thread, from llama.cpp's abort callback
  // JS thread. Sequence ownership (a Sequence object in TS): an owned sequence is given only to
  // streams that name it. Acquire picks an unowned sequence no stream runs in (the least recently
  // used), or returns -1.
  int32_t AcquireSequence();
  void ReleaseSequence(int32_t seq);
  std::mutex& mutex() { return mu_; }

 private:
  void Loop();
  void Admit();
  int32_t PickSlot(const Stream* s) const;
  void Finish(Stream* s, const char* reason);  // normal end
  void Fail(Stream* s, ErrorKind kind, const std::string& message);  // rejected promise
  void Retire(Stream* s);  // leaves active_ and its sequence
  void Release(Stream* s);
  void Draft();  // speculative.h: drafts for the generating streams, before BuildBatch
  bool BuildBatch();
  void AfterDecode(int32_t rc);
  bool EvictIdleSlots();
  void EndAllForExit();

  ContextHandle& h_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable released_;
  std::deque<Stream*> pending_;  // guarded by mu_
  std::vector<Stream*> active_;  // written by the engine under mu_
  std::vector<Stream*> slot_stream_;  // per sequence; written by the engine under mu_
  std::unordered_set<Stream*> held_;  // guarded by mu_
  std::vector<bool> slot_owned_;  // per sequence; guarded by mu_
  std::vector<uint64_t> slot_used_;  // last use per sequence (LRU); guarded by mu_
  uint64_t clock_ = 0;
  std::vector<Stream*> in_batch_;  // engine thread
  std::vector<Speculator::Request> draft_requests_;  // engine thread
  std::vector<std::atomic<bool>*> batch_flags_;  // engine thread; read by the abort callback
  bool stop_ = false;  // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::optional<CpuUser> cpu_user_;  // engine thread: held while streams are pending or active
  std::thread thread_;
};

}  // namespace llama_native
