// SamplerChain: one generation's sampler — llama.cpp's common_sampler (common/sampling.cpp), built
// from the same common_params_sampling llama-server builds from a request, so that the same seed and
// options sample the same tokens as llama-server: its chain order (penalties, DRY, top-n-sigma, top-k,
// typical, top-p, min-p, XTC, temperature, then dist or mirostat), the model's suppressed tokens, the
// grammar applied by rejection (or lazily, from a trigger on), the generation-prompt prefill of chat
// grammars and the reasoning-budget sampler.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "chat_sampling.h"
#include "common.h"
#include "params.h"

struct common_sampler;

namespace llama_native {

// One generation's sampling settings. The defaults live in TypeScript (src/sampling.ts), which
// sends every value.
struct SamplingParams {
  float temperature = 0;  // <= 0: greedy
  int32_t top_k = 0;  // <= 0: off
  float top_p = 1;  // 1: off
  float min_p = 0;  // 0: off
  float typical_p = 1;  // 1: off
  int32_t min_keep = 0;
  float top_n_sigma = -1;  // < 0: off
  float xtc_probability = 0;  // 0: off
  float xtc_threshold = 0.1f;
  float repeat_penalty = 1;
  float frequency_penalty = 0;
  float presence_penalty = 0;
  int32_t penalty_last_n = 0;
  float dry_multiplier = 0;  // 0: off
  float dry_base = 1.75f;
  int32_t dry_allowed_length = 2;
  int32_t dry_penalty_last_n = 0;
  std::vector<std::string> dry_breakers;
  int32_t mirostat = 0;  // 0 off, 1, 2
  float mirostat_tau = 5;
  float mirostat_eta = 0.1f;
  uint32_t seed = LLAMA_DEFAULT_SEED;
  std::vector<llama_logit_bias> logit_bias;
  std::string grammar;  // GBNF; empty: none
  bool output_format = false;  // the grammar came from a JSON schema (llama-server's output-format grammar)
  int32_t top_logprobs = -1;  // -1: no logprobs; K >= 0: the sampled token's and the K most likely
  ChatSampling chat;  // chat mode: lazy grammar, triggers, preserved tokens, grammar prefill, reasoning budget

  // Reads the sampling keys of Context.generate's params on the JS thread; token ids in logit
  // biases and topK are checked against the vocabulary.
  static SamplingParams FromJs(Napi::Env env, Params& o, int32_t n_vocab);
  bool Greedy() const { return temperature <= 0.0f; }
};

// One alternative of a token's distribution.
struct TokenProb {
  llama_token token;
  float logprob;
};

// The model's distribution at one sampled token (before sampling: softmax of the raw logits).
struct TokenLogprobs {
  float logprob = 0;  // of the sampled token
  std::vector<TokenProb> top;  // the K most likely, most likely first
};

class SamplerChain {
 public:
  // Throws NativeError when the grammar does not parse (or does not accept the chat's generation
  // prompt). Call from the worker thread: grammar parsing of hostile input is recursive and belongs
  // on the task's own stack.
  SamplerChain(const llama_model* model, int32_t n_vocab, const SamplingParams& params);
  ~SamplerChain();
  SamplerChain(const SamplerChain&) = delete;
  SamplerChain& operator=(const SamplerChain&) = delete;

  // The prompt's tokens, as llama-server feeds them: to the chain's penalties and DRY history only
  // (not to the grammar).
  void AcceptPrompt(const std::vector<llama_token>& tokens);
  // Samples from output `idx` of the last decode and accepts the token into every sampler.
  llama_token Sample(llama_context* ctx, int32_t idx);
  // The logprobs of `token` and the `k` most likely tokens at output `idx` (llama-server's
  // get_token_probabilities: softmax over the raw logits).
  TokenLogprobs Logprobs(llama_context* ctx, int32_t idx, llama_token token, int32_t k);

 private:
  common_sampler* sampler_ = nullptr;
  bool feed_prompt_ = false;  // whether the chain keeps a history (penalties, DRY)
  // Greedy with nothing that reads the history or changes the order (no grammar, penalties, DRY,
  // XTC, mirostat, reasoning budget) is an argmax over the logits (plus biases): done directly,
  // without copying every logit into a candidate array (~1.5 % of a token's time on a 32k vocabulary).
  // Same result: the first maximum in token order (argmax.h).
  bool fast_greedy_ = false;
  int32_t n_vocab_ = 0;
  std::vector<float> bias_;  // per token, when logit biases (or the model's suppressed tokens) apply
  std::vector<std::pair<float, llama_token>> scratch_;  // Logprobs' candidates
};

}  // namespace llama_native
