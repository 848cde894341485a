// One generate() call: its request, checked on the JS thread, and its stream state, advanced by the
// context's engine (engine.h), which decodes every active stream's next token in one shared batch.
// The stream turns sampled tokens into UTF-8-whole text chunks, applies stop strings (holding back
// text that could still begin one) and reports why it ended.
#pragma once

#include <napi.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "context_handle.h"
#include "mtmd.h"
#include "sampler.h"
#include "task.h"

namespace llama_native {

// How many leading tokens two sequences share.
inline size_t CommonPrefix(const std::vector<llama_token>& a, const std::vector<llama_token>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) n++;
  return n;
}

struct GenerationRequest {
  std::vector<llama_token> prompt;
  SamplingParams sampling;
  int32_t max_tokens = -1;  // -1: until the context is full
  std::vector<std::string> stop;
  int32_t sequence = -1;  // KV cache sequence to run in; -1: the engine picks one
  // A prompt with images or audio (Projector.tokenize): `prompt` is its token list, where media
  // positions hold pseudo tokens, and the media are encoded and decoded by Stream::DecodeMedia.
  MediaPromptPtr media;

  // Reads (promptTokens, params, abortFlag, onChunk, mediaPrompt?) — params complete, as native/params.h declares them — and checks
  // everything llama.cpp would assert on.
  static GenerationRequest FromJs(const Napi::CallbackInfo& info, const ContextHandle& h);
};

class Stream : public AsyncOp {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Phase { Pending, Prompt, Generate };

  Stream(ContextHandlePtr h, GenerationRequest req, AbortFlagPtr abort);

  // Engine thread. Builds the sampler and reuses the cached prefix of sequence `seq`.
  // Throws NativeError (an invalid grammar).
  void Begin(int32_t seq);
  // Engine thread, once the prompt is decoded and after each generated token's decode: samples from
  // output `idx` of the last batch and streams the text. With a draft (decoded at the outputs after
  // `idx`), goes on sampling while each drafted token is the one sampled before it. Returns false
  // when the stream has ended.
  bool Step(int32_t idx);
  // Engine thread: ends the stream with `reason` (flushing held text unless a stop string ended it).
  void End(const char* reason);
  const char* StopReason() const { return stop_reason_; }

  // One sampled token's logprobs, with the text of each token (when the request asked for them).
  struct Alternative {
    llama_token token;
    std::string text;
    float logprob;
  };
  struct LogprobEntry {
    llama_token token;
    std::string text;
    float logprob;
    std::vector<Alternative> top;
  };

  const GenerationRequest& req() const { return req_; }
  const AbortFlagPtr& abort_flag() const { return abort_; }

  // Engine-thread state.
  Phase phase = Phase::Pending;
  int32_t seq = -1;
  size_t prompt_pos = 0;  // next prompt token to decode
  llama_token next_token = -1;  // sampled, to be decoded in the next batch
  int32_t batch_first = -1;  // where this stream's tokens start in the current batch
  int32_t batch_count = 0;  // how many tokens it has there
  bool batch_logits = false;  // whether the current batch computes its next logits
  std::vector<llama_token> draft;  // speculative.h: drafted after next_token, decoded with it
  bool spec_begun = false;  // the drafter was told this stream started generating
  size_t evaluated = 0;
  size_t reused = 0;
  int32_t generated = 0;
  int32_t drafted = 0;  // drafted tokens decoded for verification
  int32_t accepted = 0;  // of which the stream kept
  Clock::time_point t_begin, t_first;

 protected:
  void Launch() override;
  void Quiesce() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  // Samples output `idx` and takes the token (text, stop strings, limits). False when the stream ended.
  bool Take(int32_t idx, llama_token& token);
  // After verifying a draft: drops the rejected tokens from the KV cache, counts, tells the drafter.
  void SettleDraft(size_t n_accepted);
  bool CheckStop();
  void DecodeMedia();
  void DecodeText(size_t end);
  std::string Piece(llama_token token) const;
  void Emit(bool flush);
  void PostOut();

  // Chunks are sent at most once per post interval unless flushed: each send wakes the JS thread
  // (an eventfd write on Linux), which at thousands of tokens/s cost ~10 % of the decode thread's
  // time and competed with ggml's workers for the cores. Tokens that come faster are grouped.
  // The interval is 1 ms while the cores have room and doubles, up to 64 ms, while this process's
  // threads are being preempted (their involuntary context switches, counted at each post): on busy
  // cores each wake of the JS thread preempts the decode (or a ggml worker), which then waits a time
  // slice behind the other process; 1 ms posts cost stories260K 8-12 % beside two busy loops. Each
  // chunk costs the JS thread ~130-270 us of CPU (the wake, the async generator, a cold cache), all
  // of it taken from the decode when they share a core: a 16 ms cap still cost bench-134m Q4_0 ~1.5 %
  // pinned to one core (35 chunks per 128 tokens, 9.4 ms of JS) and ~10 % beside two busy loops
  // against a 64 ms cap (alternating runs; bench/RESULTS.md, "Found and fixed on 2026-12-05").
  static constexpr std::chrono::microseconds kPostIntervalMin{1000};
  static constexpr std::chrono::microseconds kPostIntervalMax{64000};
  std::chrono::microseconds post_interval_ = kPostIntervalMin;
  long preempted_ = -1;  // the process's involuntary context switches at the last post (-1: unknown)

  ContextHandlePtr h_;
  GenerationRequest req_;
  std::unique_ptr<SamplerChain> sampler_;
  size_t max_stop_ = 0;
  std::string pending_bytes_;  // bytes of an incomplete UTF-8 sequence
  std::string held_text_;  // complete UTF-8 not yet sent
  std::vector<llama_token> held_tokens_;  // tokens sampled since the last chunk
  std::vector<LogprobEntry> held_logprobs_;  // theirs, when asked for
  size_t searched_ = 0;
  std::string out_text_;  // ready to send, waiting for the post interval
  std::vector<llama_token> out_tokens_;
  std::vector<LogprobEntry> out_logprobs_;
  Clock::time_point last_post_{};
  const char* stop_reason_ = "abort";
  bool ended_ = false;
  double prompt_ms_ = 0;
  double generate_ms_ = 0;
};

Napi::Value StartGeneration(Napi::Env env, ContextHandlePtr h, GenerationRequest req, AbortFlagPtr abort, Napi::Function on_chunk);

}  // namespace llama_native
