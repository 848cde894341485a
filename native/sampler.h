// SamplerChain: a llama_sampler chain built from one generation's options.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "chat_sampling.h"
#include "common.h"
#include "params.h"

namespace llama_native {

// One generation's sampling settings. The defaults live in TypeScript (src/sampling.ts), which
// sends every value.
struct SamplingParams {
  float temperature = 0;  // <= 0: greedy
  int32_t top_k = 0;  // <= 0: off
  float top_p = 1;  // 1: off
  float min_p = 0;  // 0: off
  float typical_p = 1;  // 1: off
  float repeat_penalty = 1;
  float frequency_penalty = 0;
  float presence_penalty = 0;
  int32_t penalty_last_n = 0;
  uint32_t seed = LLAMA_DEFAULT_SEED;
  std::vector<llama_logit_bias> logit_bias;
  std::string grammar;  // GBNF; empty: none
  ChatSampling chat;  // chat mode: lazy grammar, triggers, preserved tokens, grammar prefill

  // Reads the sampling keys of Context.generate's params on the JS thread; token ids in logit
  // biases and topK are checked against the vocabulary.
  static SamplingParams FromJs(Napi::Env env, Params& o, int32_t n_vocab);
  bool Greedy() const { return temperature <= 0.0f; }
  bool HasPenalties() const {
    return penalty_last_n != 0 && (repeat_penalty != 1.0f || frequency_penalty != 0.0f || presence_penalty != 0.0f);
  }
};

class SamplerChain {
 public:
  // Throws NativeError when the grammar does not parse. Call from the worker thread: grammar parsing
  // of hostile input is recursive and belongs on the task's own stack.
  SamplerChain(const llama_vocab* vocab, int32_t n_vocab, const SamplingParams& params);
  ~SamplerChain();
  SamplerChain(const SamplerChain&) = delete;
  SamplerChain& operator=(const SamplerChain&) = delete;

  // Feeds prompt tokens to the repetition penalties only (the grammar must not see the prompt).
  void AcceptPrompt(const std::vector<llama_token>& tokens);
  // Samples from output `idx` of the last decode and accepts the token into every sampler.
  llama_token Sample(llama_context* ctx, int32_t idx);

 private:
  llama_sampler* chain_ = nullptr;
  llama_sampler* penalties_ = nullptr;  // owned by chain_
  int32_t penalty_last_n_ = 0;
  // Greedy without grammar or penalties is an argmax over the logits (plus biases): done directly,
  // without llama_sampler_sample's copy of every logit into a candidate array (~1.5 % of a token's
  // time on a 32k vocabulary). Same result: the first maximum in token order.
  bool fast_greedy_ = false;
  int32_t n_vocab_ = 0;
  std::vector<float> bias_;  // per token, when logit biases were given
};

}  // namespace llama_native
