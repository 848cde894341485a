#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../vendor/llama.cpp/common/sampling.h"
#include "argmax.h"
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
  p.min_keep = static_cast<int32_t>(o.Int("minKeep"));
  p.top_n_sigma = static_cast<float>(o.Number("topNSigma"));
  p.xtc_probability = static_cast<float>(o.Number("xtcProbability"));
  p.xtc_threshold = static_cast<float>(o.Number("xtcThreshold"));
  p.repeat_penalty = static_cast<float>(o.Number("repeatPenalty"));
  p.frequency_penalty = static_cast<float>(o.Number("frequencyPenalty"));
  p.presence_penalty = static_cast<float>(o.Number("presencePenalty"));
  p.penalty_last_n = static_cast<int32_t>(o.Int("penaltyLastN"));
  p.dry_multiplier = static_cast<float>(o.Number("dryMultiplier"));
  p.dry_base = static_cast<float>(o.Number("dryBase"));
  p.dry_allowed_length = static_cast<int32_t>(o.Int("dryAllowedLength"));
  p.dry_penalty_last_n = static_cast<int32_t>(o.Int("dryPenaltyLastN"));
  p.dry_breakers = o.Strings("dryBreakers");
  p.mirostat = static_cast<int32_t>(o.Int("mirostat"));
  p.mirostat_tau = static_cast<float>(o.Number("mirostatTau"));
  p.mirostat_eta = static_cast<float>(o.Number("mirostatEta"));
  p.seed = static_cast<uint32_t>(o.Int("seed"));
  p.grammar = o.String("grammar");
  p.output_format = o.Bool("outputFormat");
  p.top_logprobs = static_cast<int32_t>(std::min<int64_t>(o.Int("topLogprobs"), n_vocab));
  for (const auto& [token, bias] : o.TokenBias("logitBias")) {
    if (token >= n_vocab) {
      Throw(env, ErrorKind::Range, "logitBias: token id " + std::to_string(token) + " is not in [0, " + std::to_string(n_vocab) + ")");
    }
    p.logit_bias.push_back({static_cast<llama_token>(token), static_cast<float>(bias)});
  }
  return p;
}

namespace {

// llama-server's common_params_sampling for the same request (server-schema.cpp).
common_params_sampling CommonParams(const SamplingParams& p) {
  common_params_sampling c;
  c.seed = p.seed;
  c.min_keep = p.min_keep;
  c.top_k = p.top_k;
  c.top_p = p.top_p;
  c.min_p = p.min_p;
  c.xtc_probability = p.xtc_probability;
  c.xtc_threshold = p.xtc_threshold;
  c.typ_p = p.typical_p;
  c.temp = p.temperature;
  c.penalty_last_n = p.penalty_last_n;
  c.penalty_repeat = p.repeat_penalty;
  c.penalty_freq = p.frequency_penalty;
  c.penalty_present = p.presence_penalty;
  c.dry_multiplier = p.dry_multiplier;
  c.dry_base = p.dry_base;
  c.dry_allowed_length = p.dry_allowed_length;
  c.dry_penalty_last_n = p.dry_penalty_last_n;
  c.dry_sequence_breakers = p.dry_breakers;
  c.mirostat = p.mirostat;
  c.mirostat_tau = p.mirostat_tau;
  c.mirostat_eta = p.mirostat_eta;
  c.top_n_sigma = p.top_n_sigma;
  c.no_perf = true;
  c.logit_bias = p.logit_bias;
  if (!p.grammar.empty()) {
    // a chat's grammar (tools, or a JSON schema through the template) is llama-server's "tool_calls"
    // grammar; /completion's json_schema is "output format"; either is prefilled with the generation
    // prompt. A user's own grammar is not.
    common_grammar_type type = p.chat.enabled    ? COMMON_GRAMMAR_TYPE_TOOL_CALLS
                               : p.output_format ? COMMON_GRAMMAR_TYPE_OUTPUT_FORMAT
                                                 : COMMON_GRAMMAR_TYPE_USER;
    c.grammar = common_grammar(type, p.grammar);
  }
  c.grammar_lazy = p.chat.grammar_lazy;
  c.grammar_triggers = p.chat.triggers;
  c.generation_prompt = p.chat.generation_prompt;
  c.preserved_tokens = p.chat.preserved;
  c.reasoning_budget_tokens = p.chat.reasoning_budget;
  c.reasoning_budget_start = p.chat.reasoning_start;
  c.reasoning_budget_end = p.chat.reasoning_end;
  c.reasoning_budget_forced = p.chat.reasoning_forced;
  return c;
}

bool DryOn(const SamplingParams& p) { return p.dry_multiplier != 0.0f && p.dry_base >= 1.0f && p.dry_penalty_last_n > 0; }
bool PenaltiesOn(const SamplingParams& p) {
  return p.penalty_last_n != 0 && (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
}
// common_sampler_init creates the reasoning-budget sampler under these conditions
bool BudgetOn(const SamplingParams& p) {
  return !p.chat.reasoning_start.empty() && !p.chat.reasoning_end.empty() && (p.chat.grammar_lazy || p.chat.reasoning_budget >= 0);
}

}  // namespace

SamplerChain::SamplerChain(const llama_model* model, int32_t n_vocab, const SamplingParams& p) : n_vocab_(n_vocab) {
  if (!p.grammar.empty()) {
    std::string why = CheckGrammarText(p.grammar);
    if (!why.empty()) throw NativeError(ErrorKind::Generic, "invalid grammar: " + why);
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  feed_prompt_ = PenaltiesOn(p) || DryOn(p);
  fast_greedy_ = p.Greedy() && p.grammar.empty() && !feed_prompt_ && p.typical_p >= 1.0f && p.mirostat == 0 &&
                 !(p.xtc_probability > 0.0f && p.xtc_threshold <= 0.5f) && !BudgetOn(p);
  if (fast_greedy_) {
    int32_t n_suppress = 0;
    const llama_token* suppress = llama_vocab_get_suppress_tokens(vocab, &n_suppress);
    if (!p.logit_bias.empty() || n_suppress > 0) {
      bias_.assign(static_cast<size_t>(n_vocab), 0.0f);
      for (const auto& b : p.logit_bias) bias_[static_cast<size_t>(b.token)] += b.bias;
      for (int32_t i = 0; i < n_suppress; i++) {
        if (suppress[i] >= 0 && suppress[i] < n_vocab) bias_[static_cast<size_t>(suppress[i])] = -INFINITY;
      }
    }
    return;
  }
  common_params_sampling c = CommonParams(p);
  LogCapture capture;
  try {
    sampler_ = common_sampler_init(model, c);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what == "failed to parse grammar") {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Generic, "invalid grammar" + (why.empty() ? std::string() : ": " + why));
    }
    // common_sampler_init's other throw: the prefill of a chat grammar with the generation prompt
    throw NativeError(ErrorKind::Generic, "the grammar does not accept the generation prompt: " + what);
  }
  if (sampler_ == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp could not create the sampler");
}

SamplerChain::~SamplerChain() {
  if (sampler_ != nullptr) common_sampler_free(sampler_);
}

void SamplerChain::AcceptPrompt(const std::vector<llama_token>& tokens) {
  if (sampler_ == nullptr || !feed_prompt_) return;
  for (llama_token t : tokens) common_sampler_accept(sampler_, t, false);
}

llama_token SamplerChain::Sample(llama_context* ctx, int32_t idx) {
  const float* logits = llama_get_logits_ith(ctx, idx);
  if (logits == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no logits for output " + std::to_string(idx));
  if (!fast_greedy_) {
    llama_token t = common_sampler_sample(sampler_, ctx, idx);
    common_sampler_accept(sampler_, t, true);
    return t;
  }
  return FirstArgmax(logits, bias_.empty() ? nullptr : bias_.data(), n_vocab_);
}

TokenLogprobs SamplerChain::Logprobs(llama_context* ctx, int32_t idx, llama_token token, int32_t k) {
  TokenLogprobs out;
  const float* logits = llama_get_logits_ith(ctx, idx);
  if (logits == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no logits for output " + std::to_string(idx));
  // As llama-server's get_token_probabilities: in float, the sum over the whole vocabulary
  float max = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < n_vocab_; i++) max = std::max(max, logits[i]);
  float sum = 0.0f;
  for (int32_t i = 0; i < n_vocab_; i++) sum += std::exp(logits[i] - max);
  const float log_sum = std::log(sum);
  auto logprob = [&](float logit) { return logit - max - log_sum; };
  out.logprob = logprob(logits[token]);
  k = std::min(k, n_vocab_);
  if (k > 0) {
    scratch_.resize(static_cast<size_t>(n_vocab_));
    for (int32_t i = 0; i < n_vocab_; i++) scratch_[static_cast<size_t>(i)] = {logits[i], i};
    std::partial_sort(scratch_.begin(), scratch_.begin() + k, scratch_.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    out.top.reserve(static_cast<size_t>(k));
    for (int32_t i = 0; i < k; i++)
      out.top.push_back({scratch_[static_cast<size_t>(i)].second, logprob(scratch_[static_cast<size_t>(i)].first)});
  }
  return out;
}

}  // namespace llama_native
