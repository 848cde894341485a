#include "engine.h"

#include <algorithm>

#include "context_handle.h"
#include "exit_gate.h"
#include "generation.h"

namespace llama_native {

Engine::Engine(ContextHandle& h)
    : h_(h),
      slot_stream_(static_cast<size_t>(h.n_seq_max), nullptr),
      slot_owned_(static_cast<size_t>(h.n_seq_max), false),
      slot_used_(static_cast<size_t>(h.n_seq_max), 0) {
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    stopping_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Engine::Submit(Stream* s) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    held_.insert(s);
    pending_.push_back(s);
  }
  wake_.notify_all();
}

void Engine::AbortAll() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (Stream* s : pending_) s->abort_flag()->store(true);
    for (Stream* s : active_) s->abort_flag()->store(true);
  }
  wake_.notify_all();
}

bool Engine::Idle() {
  std::lock_guard<std::mutex> lk(mu_);
  return pending_.empty() && active_.empty();
}

void Engine::WaitReleased(Stream* s) {
  std::unique_lock<std::mutex> lk(mu_);
  if (held_.count(s) != 0) {
    s->abort_flag()->store(true);  // only reached at environment teardown: the stream is still running
    wake_.notify_all();
    released_.wait(lk, [&] { return held_.count(s) == 0; });
  }
}

bool Engine::BatchAborted() const {
  if (stopping_.load(std::memory_order_relaxed)) return true;
  if (batch_flags_.empty()) return false;
  for (const std::atomic<bool>* f : batch_flags_) {
    if (!f->load(std::memory_order_relaxed)) return false;
  }
  return true;
}

int32_t Engine::AcquireSequence() {
  std::lock_guard<std::mutex> lk(mu_);
  int32_t best = -1;
  for (size_t i = 0; i < slot_stream_.size(); i++) {
    if (slot_owned_[i] || slot_stream_[i] != nullptr) continue;
    bool queued = false;  // a waiting stream that named this sequence keeps it shared
    for (const Stream* s : pending_) queued = queued || s->req().sequence == static_cast<int32_t>(i);
    if (queued) continue;
    if (best < 0 || slot_used_[i] < slot_used_[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  }
  if (best >= 0) slot_owned_[static_cast<size_t>(best)] = true;
  return best;
}

void Engine::ReleaseSequence(int32_t seq) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    slot_owned_[static_cast<size_t>(seq)] = false;
  }
  wake_.notify_all();  // streams waiting for an unowned sequence may start
}

// A free sequence for `s`: the one it asked for, else the free unowned one whose cache shares the
// longest prefix with its prompt, else the least recently used. -1 when none is free.
int32_t Engine::PickSlot(const Stream* s) const {
  const auto& req = s->req();
  if (req.sequence >= 0) return slot_stream_[static_cast<size_t>(req.sequence)] == nullptr ? req.sequence : -1;
  int32_t best = -1;
  size_t best_common = 0;
  for (size_t i = 0; i < slot_stream_.size(); i++) {
    if (slot_stream_[i] != nullptr || slot_owned_[i]) continue;
    size_t common = CommonPrefix(h_.seq_tokens[i], req.prompt);
    if (best < 0 || common > best_common || (common == best_common && slot_used_[i] < slot_used_[static_cast<size_t>(best)])) {
      best = static_cast<int32_t>(i);
      best_common = common;
    }
  }
  return best;
}

// Engine thread, under mu_: moves waiting streams into free sequences in call order (a stream that
// asked for a busy sequence lets later ones pass). Aborted waiting streams end at once.
void Engine::Admit() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    Stream* s = *it;
    if (s->Aborted()) {
      it = pending_.erase(it);
      s->End("abort");
      Release(s);
      continue;
    }
    int32_t slot = PickSlot(s);
    if (slot < 0) {
      ++it;
      continue;
    }
    it = pending_.erase(it);
    slot_stream_[static_cast<size_t>(slot)] = s;
    slot_used_[static_cast<size_t>(slot)] = ++clock_;
    s->seq = slot;
    active_.push_back(s);
  }
}

// Engine thread, under mu_.
void Engine::Release(Stream* s) {
  s->Finish();
  held_.erase(s);
  released_.notify_all();
}

// Engine thread: an active stream leaves its sequence and is handed back.
void Engine::Retire(Stream* s) {
  std::lock_guard<std::mutex> lk(mu_);
  active_.erase(std::find(active_.begin(), active_.end(), s));
  if (s->seq >= 0) slot_stream_[static_cast<size_t>(s->seq)] = nullptr;
  Release(s);
}

void Engine::Finish(Stream* s, const char* reason) {
  s->End(reason);
  Retire(s);
}

void Engine::Fail(Stream* s, ErrorKind kind, const std::string& message) {
  s->Fail(kind, message);
  Retire(s);
}

// Drops the cache of sequences no stream is using, to make room. Returns whether it freed anything.
bool Engine::EvictIdleSlots() {
  bool freed = false;
  llama_memory_t mem = llama_get_memory(h_.ctx);
  for (size_t i = 0; i < slot_stream_.size(); i++) {
    if (slot_stream_[i] == nullptr && !h_.seq_tokens[i].empty()) {
      llama_memory_seq_rm(mem, static_cast<llama_seq_id>(i), -1, -1);
      h_.seq_tokens[i].clear();
      freed = true;
    }
  }
  return freed;
}

// With speculative decoding: a draft for every generating stream, as long as the sequence, the
// batch (shared evenly between the generating streams) and the stream's maxTokens leave room.
// Streams whose prompt is being decoded are admitted before Draft runs (Loop), so they count.
void Engine::Draft() {
  draft_requests_.clear();
  int32_t generating = 0;
  bool prompting = false;
  for (Stream* s : active_) {
    s->draft.clear();
    if (s->phase == Stream::Phase::Generate) generating++;
    if (s->phase == Stream::Phase::Prompt) prompting = true;
  }
  if (!h_.spec || generating == 0) return;
  // drafts leave half of the batch to the prompts of starting streams, so that they go on
  const int32_t per_stream = (prompting ? h_.n_batch / 2 : h_.n_batch) / generating - 1;
  for (Stream* s : active_) {
    // a prompt with media holds pseudo tokens at the media's positions: neither a draft model nor
    // n-gram lookup can read it, so such a stream generates without drafts
    if (s->phase != Stream::Phase::Generate || s->req().media) continue;
    if (!s->spec_begun) {
      h_.spec->Begin(s->seq);
      s->spec_begun = true;
    }
    const auto& cached = h_.seq_tokens[static_cast<size_t>(s->seq)];
    int64_t n_max = std::min<int64_t>(per_stream, static_cast<int64_t>(h_.n_ctx_seq) - static_cast<int64_t>(cached.size()) - 1);
    if (s->req().max_tokens >= 0) n_max = std::min<int64_t>(n_max, s->req().max_tokens - s->generated - 1);
    if (n_max <= 0) continue;
    draft_requests_.push_back({s->seq, s->next_token, static_cast<int32_t>(n_max), &s->draft});
  }
  if (!draft_requests_.empty()) h_.spec->Draft(draft_requests_);
}

// Fills h_.batch: the pending token of every generating stream (one each, plus its draft), then
// prompt tokens of starting streams in admission order while room is left. Returns false when there
// is nothing.
//
// The tokens go into the batch by sequence id, whatever the order the streams came in. With a cache
// per sequence (unifiedKvCache off, the default), llama.cpp puts into one micro-batch only sequences
// whose ids follow one another in batch order (llama_batch_allocr::split_equal, `sequential`), and
// every micro-batch reads all the weights again: eight generating streams on sequences 1-7 and 0 (the
// least recently used sequences, after one earlier generation on sequence 0) were decoded as 7 + 1
// tokens per step, 40 % slower per step than as 8 (bench-134m Q4_0, 2 threads: 13.5-14.5 ms against
// 9.7-10.3 ms).
bool Engine::BuildBatch() {
  in_batch_.clear();
  batch_flags_.clear();
  int32_t room = h_.n_batch;
  for (Stream* s : active_) {
    s->batch_count = 0;
    s->batch_logits = false;
    if (s->phase != Stream::Phase::Generate) continue;
    s->batch_count = 1 + static_cast<int32_t>(s->draft.size());
    s->batch_logits = true;
    room -= s->batch_count;
    in_batch_.push_back(s);
  }
  for (Stream* s : active_) {
    if (s->phase != Stream::Phase::Prompt || room <= 0) continue;
    const auto& prompt = s->req().prompt;
    const size_t n = std::min(prompt.size() - s->prompt_pos, static_cast<size_t>(room));
    s->batch_count = static_cast<int32_t>(n);
    s->batch_logits = s->prompt_pos + n == prompt.size();
    room -= s->batch_count;
    in_batch_.push_back(s);
  }
  std::sort(in_batch_.begin(), in_batch_.end(), [](const Stream* a, const Stream* b) { return a->seq < b->seq; });
  llama_batch& b = h_.batch;
  b.n_tokens = 0;
  auto add = [&](Stream* s, llama_token t, bool logits) {
    int32_t k = b.n_tokens++;
    auto& cached = h_.seq_tokens[static_cast<size_t>(s->seq)];
    b.token[k] = t;
    b.pos[k] = static_cast<llama_pos>(cached.size());
    b.n_seq_id[k] = 1;
    b.seq_id[k][0] = s->seq;
    b.logits[k] = logits;
    cached.push_back(t);  // optimistic; AfterDecode resyncs on failure
  };
  for (Stream* s : in_batch_) {
    s->batch_first = b.n_tokens;
    if (s->phase == Stream::Phase::Generate) {
      add(s, s->next_token, true);
      for (llama_token t : s->draft) add(s, t, true);  // each drafted token's output verifies the next
    } else {
      const auto& prompt = s->req().prompt;
      for (int32_t j = 0; j < s->batch_count; j++) {
        const size_t at = s->prompt_pos + static_cast<size_t>(j);
        add(s, prompt[at], at + 1 == prompt.size());
      }
    }
    batch_flags_.push_back(s->abort_flag().get());
  }
  return b.n_tokens > 0;
}

void Engine::AfterDecode(int32_t rc) {
  if (rc != 0) {
    for (Stream* s : in_batch_) h_.ResyncTokens(s->seq);
  }
  if (rc == 0) {
    for (Stream* s : in_batch_) {
      if (s->phase == Stream::Phase::Prompt) {
        s->prompt_pos += static_cast<size_t>(s->batch_count);
        s->evaluated += static_cast<size_t>(s->batch_count);
        if (s->batch_logits) {
          s->phase = Stream::Phase::Generate;
          s->t_first = Stream::Clock::now();
        }
      }
    }
    for (Stream* s : in_batch_) {
      if (!s->batch_logits) continue;
      int32_t idx = s->batch_first + s->batch_count - 1 - static_cast<int32_t>(s->draft.size());
      bool go;
      try {
        go = s->Step(idx);
      } catch (const std::exception& e) {
        // llama.cpp throws when a grammar has no allowed token left (e.g. logit biases banned them
        // all, or end-of-generation is the only choice before the grammar is complete)
        std::string what = e.what();
        Fail(s, ErrorKind::Generic,
             what.find("grammar too complex") != std::string::npos ? "sampling failed: " + what
             : what.find("grammar") != std::string::npos
                 ? "sampling failed: no token satisfies both the grammar and the other sampling options (llama.cpp: " + what + ")"
                 : "sampling failed: " + what);
        continue;
      }
      if (!go) Finish(s, s->StopReason());
    }
    return;
  }
  if (rc == 2) {
    // Aborted: every stream in the batch asked to stop (or the context is going away). Prompt
    // streams keep what was decoded; each ends at the top of the next step.
    for (Stream* s : in_batch_) {
      if (s->phase == Stream::Phase::Prompt) {
        s->prompt_pos = std::min(s->req().prompt.size(), h_.seq_tokens[static_cast<size_t>(s->seq)].size());
      }
    }
    return;
  }
  if (rc == 1) {
    // No room in the KV cache. Nothing was decoded. Free idle sequences first; else end the stream
    // that holds the most, and retry with the rest.
    if (EvictIdleSlots()) return;
    Stream* victim = nullptr;
    for (Stream* s : in_batch_) {
      if (victim == nullptr || h_.seq_tokens[static_cast<size_t>(s->seq)].size() > h_.seq_tokens[static_cast<size_t>(victim->seq)].size()) {
        victim = s;
      }
    }
    if (victim == nullptr) return;
    if (victim->phase == Stream::Phase::Prompt) {
      Fail(victim, ErrorKind::ContextFull,
           "prompt: the context is full (" + std::to_string(h_.n_ctx) + " tokens shared by " + std::to_string(h_.n_seq_max) +
               " sequences; no KV cache slot for " + std::to_string(victim->batch_count) + " more)");
    } else {
      Finish(victim, "contextFull");
    }
    return;
  }
  if (rc == kDecodeRpcLost) {
    const std::string lost = RpcLostWorker(h_.model->rpc);
    std::vector<Stream*> failed = in_batch_;
    for (Stream* s : failed) {
      Fail(s, ErrorKind::Rpc, "RPC server " + lost + " was lost (it stopped or the connection broke); the model must be loaded again");
    }
    return;
  }
  std::string why = "llama_decode failed with code " + std::to_string(rc) + (rc == -1 ? " (invalid batch)" : " (compute error)");
  std::vector<Stream*> failed = in_batch_;
  for (Stream* s : failed) Fail(s, ErrorKind::Generic, why);
}

// Engine thread, once the process is exiting (exit_gate.h): every stream ends as aborted without
// another llama.cpp call, so that worker environments torn down during the exit can release them.
void Engine::EndAllForExit() {
  std::vector<Stream*> active;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (Stream* s : pending_) {
      s->End("abort");
      Release(s);
    }
    pending_.clear();
    active = active_;
  }
  for (Stream* s : active) Finish(s, "abort");
}

void Engine::Loop() {
  std::vector<Stream*> starting;
  while (true) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (IdleLocked()) cpu_user_.reset();  // an idle context does not count against the cores' share
      wake_.wait(lk, [&] { return stop_ || !pending_.empty() || !active_.empty(); });
      if (stop_) return;  // no stream exists any more: each holds the context
      if (!cpu_user_) cpu_user_.emplace();
    }
    exit_gate::Scope gate;
    if (!gate) {
      EndAllForExit();
      continue;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      size_t before = active_.size();
      Admit();
      starting.assign(active_.begin() + static_cast<long>(before), active_.end());
    }
    for (Stream* s : starting) {
      batch_flags_.clear();  // Begin may decode (media): the abort callback reads these
      if (s->abort_flag()) batch_flags_.push_back(s->abort_flag().get());
      try {
        s->Begin(s->seq);
      } catch (const NativeError& e) {
        Fail(s, e.kind, e.what());
      } catch (const std::exception& e) {
        Fail(s, ErrorKind::Generic, e.what());
      }
    }
    batch_flags_.clear();
    // Streams whose caller gave up end before the decode, within one step of the request.
    std::vector<Stream*> aborted;
    for (Stream* s : active_) {
      if (s->Aborted()) aborted.push_back(s);
    }
    for (Stream* s : aborted) Finish(s, "abort");
    Draft();
    if (!BuildBatch()) continue;
    int32_t rc;
    try {
      rc = h_.Decode(h_.batch);
    } catch (const std::exception& e) {
      rc = -100;
    }
    // ggml's RPC client can also throw (a lost worker it tried to reach again): say which
    if (rc != 0 && !h_.model->rpc.empty() && !RpcLostWorker(h_.model->rpc).empty()) rc = kDecodeRpcLost;
    AfterDecode(rc);
  }
}

}  // namespace llama_native
