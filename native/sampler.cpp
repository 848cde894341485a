#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "grammar_check.h"
#include "log.h"

namespace llama_native {

SamplingParams SamplingParams::FromJs(Napi::Env env, Params& o, int32_t n_vocab) {
  SamplingParams p;
  p.temperature = static_cast<float>(o.Number("temperature"));
  p.top_k = static_cast<int32_t>(o.Int("topK"));
  if (p.top_k > n_vocab) Throw(env, ErrorKind::Range, "topK must be at most the vocabulary size, " + std::to_string(n_vocab));
  p.top_p = static_cast<float>(o.Number("topP"));
  p.min_p = static_cast<float>(o.Number("minP"));
  p.typical_p = static_cast<float>(o.Number("typicalP"));
  p.repeat_penalty = static_cast<float>(o.Number("repeatPenalty"));
  p.frequency_penalty = static_cast<float>(o.Number("frequencyPenalty"));
  p.presence_penalty = static_cast<float>(o.Number("presencePenalty"));
  p.penalty_last_n = static_cast<int32_t>(o.Int("penaltyLastN"));
  p.seed = static_cast<uint32_t>(o.Int("seed"));
  p.grammar = o.String("grammar");
  for (const auto& [token, bias] : o.TokenBias("logitBias")) {
    if (token >= n_vocab) {
      Throw(env, ErrorKind::Range, "logitBias: token id " + std::to_string(token) + " is not in [0, " + std::to_string(n_vocab) + ")");
    }
    p.logit_bias.push_back({static_cast<llama_token>(token), static_cast<float>(bias)});
  }
  return p;
}

SamplerChain::SamplerChain(const llama_vocab* vocab, int32_t n_vocab, const SamplingParams& p) {
  if (!p.grammar.empty()) {
    std::string why = CheckGrammarText(p.grammar);
    if (!why.empty()) throw NativeError(ErrorKind::Generic, "invalid grammar: " + why);
  }
  llama_sampler_chain_params cp = llama_sampler_chain_default_params();
  cp.no_perf = true;
  chain_ = llama_sampler_chain_init(cp);
  if (!p.logit_bias.empty()) {
    llama_sampler_chain_add(chain_, llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(p.logit_bias.size()), p.logit_bias.data()));
  }
  if (p.HasPenalties()) {
    penalty_last_n_ = p.penalty_last_n;
    penalties_ = llama_sampler_init_penalties(n_vocab, p.penalty_last_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty);
    llama_sampler_chain_add(chain_, penalties_);
  }
  if (!p.grammar.empty()) {
    LogCapture capture;
    llama_sampler* g = nullptr;
    if (p.chat.grammar_lazy) {
      // common_sampler_init: a lazy grammar applies from the first trigger on
      std::vector<const char*> patterns;
      for (const auto& r : p.chat.trigger_patterns) patterns.push_back(r.c_str());
      g = llama_sampler_init_grammar_lazy_patterns(vocab, p.grammar.c_str(), "root", patterns.data(), patterns.size(),
                                                   p.chat.trigger_tokens.data(), p.chat.trigger_tokens.size());
    } else {
      g = llama_sampler_init_grammar(vocab, p.grammar.c_str(), "root");
    }
    if (g != nullptr && p.chat.enabled && !p.chat.grammar_lazy) {
      // llama-server prefills a chat's (tool-call or JSON) grammar with the generation prompt
      try {
        for (llama_token t : p.chat.prefill) llama_sampler_accept(g, t);
      } catch (const std::exception& e) {
        llama_sampler_free(g);
        llama_sampler_free(chain_);
        chain_ = nullptr;
        throw NativeError(ErrorKind::Generic, std::string("the grammar does not accept the generation prompt: ") + e.what());
      }
    }
    if (g == nullptr) {
      llama_sampler_free(chain_);
      chain_ = nullptr;
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Generic, "invalid grammar" + (why.empty() ? std::string() : ": " + why));
    }
    llama_sampler_chain_add(chain_, g);
  }
  if (p.Greedy()) {
    llama_sampler_chain_add(chain_, llama_sampler_init_greedy());
    n_vocab_ = n_vocab;
    fast_greedy_ = p.grammar.empty() && penalties_ == nullptr;
    if (fast_greedy_ && !p.logit_bias.empty()) {
      bias_.assign(static_cast<size_t>(n_vocab), 0.0f);
      for (const auto& b : p.logit_bias) bias_[static_cast<size_t>(b.token)] += b.bias;
    }
    return;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain_, llama_sampler_init_top_k(p.top_k));
  if (p.typical_p < 1.0f) llama_sampler_chain_add(chain_, llama_sampler_init_typical(p.typical_p, 1));
  if (p.top_p < 1.0f) llama_sampler_chain_add(chain_, llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0.0f) llama_sampler_chain_add(chain_, llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain_, llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(chain_, llama_sampler_init_dist(p.seed));
}

SamplerChain::~SamplerChain() {
  if (chain_ != nullptr) llama_sampler_free(chain_);
}

void SamplerChain::AcceptPrompt(const std::vector<llama_token>& tokens) {
  if (penalties_ == nullptr) return;
  size_t n = penalty_last_n_ < 0 ? tokens.size() : std::min<size_t>(tokens.size(), static_cast<size_t>(penalty_last_n_));
  for (size_t i = tokens.size() - n; i < tokens.size(); i++) llama_sampler_accept(penalties_, tokens[i]);
}

llama_token SamplerChain::Sample(llama_context* ctx, int32_t idx) {
  if (!fast_greedy_) return llama_sampler_sample(chain_, ctx, idx);
  const float* logits = llama_get_logits_ith(ctx, idx);
  if (logits == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no logits for output " + std::to_string(idx));
  int32_t best = 0;
  if (bias_.empty()) {
    float max = logits[0];
    for (int32_t i = 1; i < n_vocab_; i++) {
      if (logits[i] > max) max = logits[i], best = i;
    }
  } else {
    float max = logits[0] + bias_[0];
    for (int32_t i = 1; i < n_vocab_; i++) {
      float v = logits[i] + bias_[static_cast<size_t>(i)];
      if (v > max) max = v, best = i;
    }
  }
  return best;
}

}  // namespace llama_native
