#include "generation.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "task.h"

namespace llama_native {

GenerationRequest GenerationRequest::FromJs(const Napi::CallbackInfo& info, const ContextHandle& h) {
  Napi::Env env = info.Env();
  GenerationRequest r;
  if (h.embeddings) {
    Throw(env, ErrorKind::Generic, "this context was created with embeddings: true; create another context to generate text");
  }
  if (info.Length() < 1) Throw(env, ErrorKind::Type, "prompt tokens are required");
  r.prompt = ArgTokens(env, info[0], "prompt", h.model->n_vocab);
  if (r.prompt.empty()) Throw(env, ErrorKind::Range, "the prompt is empty: give at least one token to start from");
  if (static_cast<int64_t>(r.prompt.size()) > h.n_ctx) {
    Throw(env, ErrorKind::ContextFull, "the prompt is " + std::to_string(r.prompt.size()) + " tokens but the context holds " +
                                           std::to_string(h.n_ctx) + "; create a context with a larger contextSize");
  }
  Napi::Object o = ArgObject(info, 1, "options");
  r.sampling = SamplingParams::FromJs(env, o, h.model->n_vocab);
  r.max_tokens = static_cast<int32_t>(OptInt(o, "maxTokens", -1, -1, INT32_MAX));
  Napi::Value stop = o.Get("stop");
  if (!stop.IsUndefined() && !stop.IsNull()) {
    if (!stop.IsArray()) Throw(env, ErrorKind::Type, "stop must be an array of strings");
    auto arr = stop.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value s = arr.Get(i);
      if (!s.IsString()) Throw(env, ErrorKind::Type, "stop must be an array of strings");
      std::string str = s.As<Napi::String>().Utf8Value();
      if (str.empty()) Throw(env, ErrorKind::Range, "stop strings must not be empty");
      r.stop.push_back(std::move(str));
    }
  }
  return r;
}

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

class GenerationTask : public ThreadTask {
 public:
  GenerationTask(AbortFlagPtr abort, ContextHandlePtr h, GenerationRequest req)
      : ThreadTask(std::move(abort)), h_(std::move(h)), req_(std::move(req)) {
    for (const auto& s : req_.stop) max_stop_ = std::max(max_stop_, s.size());
  }

 protected:
  void Execute() override {
    BusyScope busy(*h_, abort_.get());
    ContextHandle& h = *h_;
    const llama_vocab* vocab = h.model->vocab;
    SamplerChain sampler(vocab, h.model->n_vocab, req_.sampling);
    sampler.AcceptPrompt(req_.prompt);

    auto t0 = Clock::now();
    if (!DecodePrompt()) {
      prompt_ms_ = MsSince(t0);
      stop_reason_ = "abort";
      return;
    }
    prompt_ms_ = MsSince(t0);

    auto t1 = Clock::now();
    std::string pending_bytes;  // bytes of an incomplete UTF-8 sequence
    char piece[256];
    stop_reason_ = "maxTokens";
    while (true) {
      if (Aborted()) {
        stop_reason_ = "abort";
        break;
      }
      if (req_.max_tokens >= 0 && generated_ >= req_.max_tokens) break;
      llama_token token = sampler.Sample(h.ctx, -1);
      if (llama_vocab_is_eog(vocab, token)) {
        stop_reason_ = "eog";
        break;
      }
      generated_++;
      held_tokens_.push_back(token);
      int32_t n = llama_token_to_piece(vocab, token, piece, sizeof(piece), 0, true);
      if (n < 0) {
        std::string big(static_cast<size_t>(-n), '\0');
        n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, true);
        if (n > 0) pending_bytes.append(big.data(), static_cast<size_t>(n));
      } else {
        pending_bytes.append(piece, static_cast<size_t>(n));
      }
      size_t complete = Utf8CompletePrefix(pending_bytes);
      held_text_.append(pending_bytes, 0, complete);
      pending_bytes.erase(0, complete);
      if (CheckStop()) {
        stop_reason_ = "stop";
        break;
      }
      Emit(false);
      if (req_.max_tokens >= 0 && generated_ >= req_.max_tokens) break;  // no need to decode the last token
      if (static_cast<int32_t>(h.tokens.size()) >= h.n_ctx) {
        stop_reason_ = "contextFull";
        break;
      }
      llama_batch& b = h.batch;
      b.n_tokens = 1;
      b.token[0] = token;
      b.pos[0] = static_cast<llama_pos>(h.tokens.size());
      b.n_seq_id[0] = 1;
      b.seq_id[0][0] = 0;
      b.logits[0] = true;
      if (!h.Decode(b, "generation")) {
        stop_reason_ = "abort";
        break;
      }
      h.tokens.push_back(token);
    }
    if (stop_reason_ != "stop") {
      held_text_ += pending_bytes;  // an incomplete sequence at the very end: let JS replace it
      Emit(true);
    }
    generate_ms_ = MsSince(t1);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("stopReason", stop_reason_);
    o.Set("promptTokens", static_cast<double>(req_.prompt.size()));
    o.Set("evaluatedPromptTokens", static_cast<double>(evaluated_));
    o.Set("reusedTokens", static_cast<double>(reused_));
    o.Set("promptMs", prompt_ms_);
    o.Set("generatedTokens", static_cast<double>(generated_));
    o.Set("generateMs", generate_ms_);
    return o;
  }

 private:
  // Reuses the longest common prefix with what the cache holds and decodes the rest in n_batch
  // chunks. Returns false when aborted. Logits are requested for the last prompt token only.
  bool DecodePrompt() {
    ContextHandle& h = *h_;
    const auto& prompt = req_.prompt;
    size_t common = 0;
    while (common < h.tokens.size() && common < prompt.size() && h.tokens[common] == prompt[common]) common++;
    if (common == prompt.size()) common--;  // the last token must be decoded again to get its logits
    if (common < h.tokens.size()) {
      llama_memory_t mem = llama_get_memory(h.ctx);
      if (!llama_memory_seq_rm(mem, 0, static_cast<llama_pos>(common), -1)) {
        llama_memory_seq_rm(mem, 0, -1, -1);  // this memory cannot cut a sequence: start over
        common = 0;
      }
      h.tokens.resize(common);
    }
    reused_ = common;
    llama_batch& b = h.batch;
    for (size_t i = common; i < prompt.size();) {
      if (Aborted()) return false;
      size_t end = std::min(prompt.size(), i + static_cast<size_t>(h.n_batch));
      b.n_tokens = static_cast<int32_t>(end - i);
      for (size_t j = i; j < end; j++) {
        int32_t k = static_cast<int32_t>(j - i);
        b.token[k] = prompt[j];
        b.pos[k] = static_cast<llama_pos>(j);
        b.n_seq_id[k] = 1;
        b.seq_id[k][0] = 0;
        b.logits[k] = (j + 1 == prompt.size());
      }
      if (!h.Decode(b, "prompt")) return false;
      h.tokens.insert(h.tokens.end(), prompt.begin() + static_cast<long>(i), prompt.begin() + static_cast<long>(end));
      evaluated_ += end - i;
      i = end;
    }
    return true;
  }

  // True when a stop string appeared: emits the text before it and drops the rest.
  bool CheckStop() {
    if (req_.stop.empty()) return false;
    size_t from = searched_ > max_stop_ ? searched_ - max_stop_ : 0;
    size_t best = std::string::npos;
    for (const auto& s : req_.stop) {
      size_t at = held_text_.find(s, from);
      if (at < best) best = at;
    }
    searched_ = held_text_.size();
    if (best == std::string::npos) return false;
    held_text_.resize(best);
    Emit(true);
    return true;
  }

  // Sends held text to JS. Unless `flush`, keeps back the tail that could still begin a stop string.
  void Emit(bool flush) {
    size_t n = held_text_.size();
    if (!flush && max_stop_ > 0) {
      n = n >= max_stop_ - 1 ? n - (max_stop_ - 1) : 0;
      while (n > 0 && (static_cast<unsigned char>(held_text_[n]) & 0xC0) == 0x80) n--;  // whole characters only
    }
    if (n == 0 && !(flush && !held_tokens_.empty())) return;
    std::string text = held_text_.substr(0, n);
    held_text_.erase(0, n);
    searched_ = searched_ > n ? searched_ - n : 0;
    std::vector<llama_token> tokens;
    tokens.swap(held_tokens_);
    Post([text = std::move(text), tokens = std::move(tokens)](Napi::Env env, Napi::Function cb) {
      auto arr = Napi::Int32Array::New(env, tokens.size());
      std::copy(tokens.begin(), tokens.end(), arr.Data());
      cb.Call({Napi::String::New(env, text), arr});
    });
  }

  ContextHandlePtr h_;
  GenerationRequest req_;
  size_t max_stop_ = 0;
  std::string held_text_;                 // complete UTF-8 not yet sent
  std::vector<llama_token> held_tokens_;  // tokens sampled since the last chunk
  size_t searched_ = 0;
  std::string stop_reason_ = "maxTokens";
  size_t evaluated_ = 0;
  size_t reused_ = 0;
  int32_t generated_ = 0;
  double prompt_ms_ = 0;
  double generate_ms_ = 0;
};

}  // namespace

Napi::Value StartGeneration(Napi::Env env, ContextHandlePtr h, GenerationRequest req, AbortFlagPtr abort,
                            Napi::Function on_chunk) {
  auto* task = new GenerationTask(std::move(abort), std::move(h), std::move(req));
  return ThreadTask::Start(env, task, on_chunk);
}

}  // namespace llama_native
