// Speculative decoding for a context (createContext({ speculative })): llama.cpp's own drafters
// (common/speculative.h: a draft model's context, or n-gram lookup in the sequence's own tokens)
// propose tokens; the engine decodes them after a stream's next token in the shared batch, and the
// stream samples each position with its own sampler, keeping drafted tokens while they are what it
// would have sampled anyway (llama-server's common_sampler_sample_and_accept_n). Output is exactly
// what the stream would have produced without speculation; only the number of decodes changes.
//
// The draft model's context mirrors the target's sequences lazily: before drafting, each drafting
// sequence's draft cache is cut to its longest common prefix with what the target holds and the
// rest is decoded there (common_speculative_process). Whatever changed the target cache (prefix
// reuse, state restore, context shift, a rejected draft) is caught up the same way.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "model.h"

struct common_speculative;

namespace llama_native {

struct ContextHandle;

struct SpeculativeConfig {
  enum class Kind { None, Draft, Ngram };
  Kind kind = Kind::None;
  ModelHandlePtr draft_model;  // Kind::Draft
  int32_t n_max = 3;  // draft: most tokens drafted per step (--spec-draft-n-max)
  int32_t n_min = 0;  // draft: fewer drafted tokens are dropped (--spec-draft-n-min)
  float p_min = 0.0f;  // draft: stop drafting below this probability (--spec-draft-p-min)
  int32_t size_n = 12;  // ngram: length of the n-gram looked up (--spec-ngram-simple-size-n)
  int32_t size_m = 48;  // ngram: tokens drafted after a match (--spec-ngram-simple-size-m)
};

// Why the draft model cannot draft for the target: the checks of llama.cpp's
// common_speculative_are_compatible (speculative.cpp), each named. Empty when compatible.
std::string DraftVocabMismatch(const llama_model* target, const llama_model* draft);

class Speculator {
 public:
  // Creation thread, after the target context exists. Throws NativeError.
  Speculator(const SpeculativeConfig& config, ContextHandle& h);
  ~Speculator();
  Speculator(const Speculator&) = delete;
  Speculator& operator=(const Speculator&) = delete;

  struct Request {
    int32_t seq;
    llama_token id_last;  // sampled, not yet decoded: the draft continues it
    int32_t n_max;  // at most this many (room in the sequence, the batch, maxTokens)
    std::vector<llama_token>* out;  // cleared, then filled with the draft
  };
  // Engine thread: drafts for each request (after `seq_tokens[seq]` + id_last).
  void Draft(std::vector<Request>& requests);
  // Engine thread: the target accepted `n` tokens of the last non-empty draft of `seq`.
  void Accept(int32_t seq, int32_t n);
  // Engine thread: a stream starts generating in `seq` (llama.cpp's common_speculative_begin).
  void Begin(int32_t seq);
  const SpeculativeConfig& config() const { return config_; }

 private:
  bool SyncDraftContext(std::vector<Request>& requests);
  void UseThreads(int32_t n);  // as ContextHandle::UseThreads, for the draft context

  ContextHandle& h_;
  SpeculativeConfig config_;
  llama_context* ctx_dft_ = nullptr;
  common_speculative* spec_ = nullptr;
  llama_batch batch_{};  // catch-up batch of the draft context
  int32_t threads_now_ = 0;  // what the draft context runs with
  std::vector<std::vector<llama_token>> dft_tokens_;  // what each sequence of the draft cache holds
  std::vector<std::vector<llama_token>> history_;  // per sequence: the tokens a draft continues
};

}  // namespace llama_native
