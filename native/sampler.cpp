#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "grammar_check.h"
#include "log.h"

namespace llama_native {

static float OptFloatIn(Napi::Object o, const char* key, float fallback, double lo, double hi) {
  double v = OptNumber(o, key, fallback);
  if (v < lo || v > hi) {
    Throw(o.Env(), ErrorKind::Range,
          std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]; got " + std::to_string(v));
  }
  return static_cast<float>(v);
}

SamplingParams SamplingParams::FromJs(Napi::Env env, Napi::Object o, int32_t n_vocab) {
  SamplingParams p;
  p.temperature = OptFloatIn(o, "temperature", p.temperature, 0.0, 1e6);
  p.top_k = static_cast<int32_t>(OptInt(o, "topK", p.top_k, 0, n_vocab));
  p.top_p = OptFloatIn(o, "topP", p.top_p, 0.0, 1.0);
  p.min_p = OptFloatIn(o, "minP", p.min_p, 0.0, 1.0);
  p.typical_p = OptFloatIn(o, "typicalP", p.typical_p, 0.0, 1.0);
  p.repeat_penalty = OptFloatIn(o, "repeatPenalty", p.repeat_penalty, 1e-6, 1e6);
  p.frequency_penalty = OptFloatIn(o, "frequencyPenalty", p.frequency_penalty, -1e6, 1e6);
  p.presence_penalty = OptFloatIn(o, "presencePenalty", p.presence_penalty, -1e6, 1e6);
  p.penalty_last_n = static_cast<int32_t>(OptInt(o, "penaltyLastN", p.penalty_last_n, 0, 1 << 24));
  p.seed = static_cast<uint32_t>(OptInt(o, "seed", LLAMA_DEFAULT_SEED, 0, 0xFFFFFFFFLL));
  p.grammar = OptString(o, "grammar", "");
  p.grammar_root = OptString(o, "grammarRoot", "root");
  Napi::Value bias = o.Get("logitBias");
  if (!bias.IsUndefined() && !bias.IsNull()) {
    if (!bias.IsArray()) Throw(env, ErrorKind::Type, "logitBias must be an array of [token, bias] pairs");
    auto arr = bias.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value pair = arr.Get(i);
      if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) {
        Throw(env, ErrorKind::Type, "logitBias must be an array of [token, bias] pairs");
      }
      auto pa = pair.As<Napi::Array>();
      Napi::Value tv = pa.Get(uint32_t(0));
      Napi::Value bv = pa.Get(uint32_t(1));
      if (!tv.IsNumber() || !bv.IsNumber()) Throw(env, ErrorKind::Type, "logitBias entries must be numbers");
      double t = tv.As<Napi::Number>().DoubleValue();
      double b = bv.As<Napi::Number>().DoubleValue();
      if (!(std::floor(t) == t) || t < 0 || t >= n_vocab) {
        Throw(env, ErrorKind::Range, "logitBias: token id " + std::to_string(t) + " is not in [0, " + std::to_string(n_vocab) + ")");
      }
      if (std::isnan(b)) Throw(env, ErrorKind::Range, "logitBias: bias must not be NaN");
      p.logit_bias.push_back({static_cast<llama_token>(t), static_cast<float>(b)});
    }
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
    llama_sampler_chain_add(chain_, llama_sampler_init_logit_bias(n_vocab, static_cast<int32_t>(p.logit_bias.size()),
                                                                  p.logit_bias.data()));
  }
  if (p.HasPenalties()) {
    penalty_last_n_ = p.penalty_last_n;
    penalties_ = llama_sampler_init_penalties(n_vocab, p.penalty_last_n, p.repeat_penalty, p.frequency_penalty,
                                              p.presence_penalty);
    llama_sampler_chain_add(chain_, penalties_);
  }
  if (!p.grammar.empty()) {
    LogCapture capture;
    llama_sampler* g = llama_sampler_init_grammar(vocab, p.grammar.c_str(), p.grammar_root.c_str());
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
