#include "generation.h"

#include <algorithm>
#include <chrono>
#include <memory>

#ifdef __linux__
#include <sys/resource.h>
#endif

#include "context_shift.h"
#include "engine.h"
#include "log.h"
#include "mtmd-helper.h"
#include "params.h"
#include "task.h"

namespace llama_native {

GenerationRequest GenerationRequest::FromJs(const Napi::CallbackInfo& info, const ContextHandle& h) {
  Napi::Env env = info.Env();
  GenerationRequest r;
  if (h.embeddings) {
    Throw(env, ErrorKind::Generic, "this context was created with embeddings: true; create another context to generate text");
  }
  if (info.Length() < 1) Throw(env, ErrorKind::Type, "prompt tokens are required");
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    r.media = MediaPromptFromValue(env, info[4]);
    if (!r.media) Throw(env, ErrorKind::Type, "the media prompt must come from Projector.tokenize");
    if (r.media->projector->model != h.model) Throw(env, ErrorKind::Generic, "these media were tokenized by a projector of another model");
    r.prompt = r.media->tokens;
    if (r.media->media_end >= r.prompt.size()) {
      Throw(env, ErrorKind::Range, "the prompt must go on with text after its last medium: nothing follows the last media marker");
    }
  } else {
    r.prompt = ArgTokens(env, info[0], "prompt", h.model->n_vocab);
  }
  if (r.prompt.empty()) Throw(env, ErrorKind::Range, "the prompt is empty: give at least one token to start from");
  if (static_cast<int64_t>(r.prompt.size()) > h.n_ctx_seq) {
    Throw(env, ErrorKind::ContextFull,
          "the prompt is " + std::to_string(r.prompt.size()) + " tokens but a sequence of this context holds " +
              std::to_string(h.n_ctx_seq) + "; create a context with a larger contextSize");
  }
  Params o(env, info.Length() > 1 ? info[1] : env.Undefined(), kGenerateParams);
  r.sequence = static_cast<int32_t>(o.Int("sequence"));
  if (r.sequence >= h.n_seq_max) {
    Throw(env, ErrorKind::Range,
          "sequence must be an integer from 0 to " + std::to_string(h.n_seq_max - 1) + " (this context has " + std::to_string(h.n_seq_max) +
              " sequences); got " + std::to_string(r.sequence));
  }
  r.sampling = SamplingParams::FromJs(env, o, h.model->n_vocab);
  r.sampling.chat = ParseChatSampling(o.String("chatSampling"), h.model->vocab);
  r.max_tokens = static_cast<int32_t>(o.Int("maxTokens"));
  r.stop = o.Strings("stop");
  for (const auto& s : r.stop) {
    if (s.empty()) Throw(env, ErrorKind::Range, "stop strings must not be empty");
  }
  o.Done();
  return r;
}

namespace {

double MsBetween(Stream::Clock::time_point a, Stream::Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

Napi::Object TokenToJs(Napi::Env env, llama_token token, const std::string& piece, float logprob) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("token", static_cast<double>(token));
  // a token may hold part of a UTF-8 character: its text then has U+FFFD, its bytes are exact
  o.Set("text", Napi::String::New(env, piece));
  auto bytes = Napi::Uint8Array::New(env, piece.size());
  std::copy(piece.begin(), piece.end(), bytes.Data());
  o.Set("bytes", bytes);
  o.Set("logprob", static_cast<double>(logprob));
  return o;
}

Napi::Array LogprobsToJs(Napi::Env env, const std::vector<Stream::LogprobEntry>& entries) {
  Napi::Array out = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); i++) {
    const auto& e = entries[i];
    Napi::Object o = TokenToJs(env, e.token, e.text, e.logprob);
    Napi::Array top = Napi::Array::New(env, e.top.size());
    for (size_t j = 0; j < e.top.size(); j++)
      top.Set(static_cast<uint32_t>(j), TokenToJs(env, e.top[j].token, e.top[j].text, e.top[j].logprob));
    o.Set("top", top);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace

Stream::Stream(ContextHandlePtr h, GenerationRequest req, AbortFlagPtr abort)
    : AsyncOp(std::move(abort)), h_(std::move(h)), req_(std::move(req)) {
  for (const auto& s : req_.stop) max_stop_ = std::max(max_stop_, s.size());
}

void Stream::Launch() { h_->GetEngine().Submit(this); }

void Stream::Quiesce() { h_->GetEngine().WaitReleased(this); }

void Stream::Begin(int32_t s) {
  seq = s;
  t_begin = Clock::now();
  sampler_ = std::make_unique<SamplerChain>(h_->model->model, h_->model->n_vocab, req_.sampling);
  if (req_.media) {
    std::vector<llama_token> text;  // the sampler's history holds text tokens only
    for (llama_token t : req_.prompt) {
      if (t >= 0) text.push_back(t);
    }
    sampler_->AcceptPrompt(text);
  } else {
    sampler_->AcceptPrompt(req_.prompt);
  }
  // Reuse the longest common prefix of what this sequence holds; the last prompt token is always
  // decoded again, to get its logits.
  ContextHandle& h = *h_;
  auto& cached = h.seq_tokens[static_cast<size_t>(seq)];
  const auto& prompt = req_.prompt;
  size_t common = CommonPrefix(cached, prompt);
  if (common == prompt.size()) common--;
  if (req_.media) common = req_.media->SnapPrefix(common);
  if (common < cached.size()) {
    llama_memory_t mem = llama_get_memory(h.ctx);
    if (!llama_memory_seq_rm(mem, seq, static_cast<llama_pos>(common), -1)) {
      llama_memory_seq_rm(mem, seq, -1, -1);  // this memory cannot cut a sequence: start over
      common = 0;
    }
    cached.resize(common);
  }
  reused = common;
  prompt_pos = common;
  phase = Phase::Prompt;
  if (req_.media && prompt_pos < req_.media->media_end) DecodeMedia();
}

// Engine thread: decodes `prompt[prompt_pos, end)` (text between media) into this stream's sequence,
// n_batch tokens at a time, without logits.
void Stream::DecodeText(size_t end) {
  ContextHandle& h = *h_;
  auto& cached = h.seq_tokens[static_cast<size_t>(seq)];
  llama_batch& b = h.batch;
  while (prompt_pos < end) {
    if (Aborted()) return;
    const size_t n = std::min(end - prompt_pos, static_cast<size_t>(h.n_batch));
    b.n_tokens = 0;
    for (size_t j = 0; j < n; j++) {
      int32_t k = b.n_tokens++;
      b.token[k] = req_.prompt[prompt_pos + j];
      b.pos[k] = static_cast<llama_pos>(cached.size() + j);
      b.n_seq_id[k] = 1;
      b.seq_id[k][0] = seq;
      b.logits[k] = false;
    }
    const int32_t rc = h.Decode(b);
    b.n_tokens = 0;
    if (rc == 2 && Aborted()) {
      h.ResyncTokens(seq);
      return;
    }
    if (rc == 1) {
      h.ResyncTokens(seq);
      throw NativeError(ErrorKind::ContextFull, "prompt: the context is full (" + std::to_string(h.n_ctx) + " tokens shared by " +
                                                    std::to_string(h.n_seq_max) + " sequences)");
    }
    if (rc != 0) {
      h.ResyncTokens(seq);
      throw NativeError(ErrorKind::Generic, "llama_decode failed with code " + std::to_string(rc) + " on the prompt's text");
    }
    cached.insert(cached.end(), req_.prompt.begin() + static_cast<long>(prompt_pos),
                  req_.prompt.begin() + static_cast<long>(prompt_pos + n));
    prompt_pos += n;
    evaluated += n;
  }
}

// Engine thread, from Begin(): every chunk of the prompt up to its last medium that the sequence does
// not hold yet. Text goes through llama_decode; each medium is encoded by the projector
// (mtmd_encode_chunk) and its embeddings decoded by mtmd_helper_decode_image_chunk, which also splits
// them by n_batch and switches to non-causal attention where the model wants it. The text after the
// last medium is left to the engine's shared batch, which computes the logits of the last token.
void Stream::DecodeMedia() {
  ContextHandle& h = *h_;
  MediaPrompt& mp = *req_.media;
  ProjectorHandle& proj = *mp.projector;
  auto& cached = h.seq_tokens[static_cast<size_t>(seq)];
  for (const MediaPrompt::Span& span : mp.spans) {
    if (span.begin >= mp.media_end) break;
    if (span.end <= prompt_pos) continue;
    if (Aborted()) return;
    if (!span.media) {
      DecodeText(span.end);
      if (prompt_pos < span.end) return;  // aborted
      continue;
    }
    const size_t n = span.end - span.begin;
    if (cached.size() + n > static_cast<size_t>(h.n_ctx_seq)) {
      throw NativeError(ErrorKind::ContextFull, "prompt: a medium of " + std::to_string(n) + " tokens does not fit in the sequence (" +
                                                    std::to_string(h.n_ctx_seq) + " tokens, " + std::to_string(cached.size()) + " used)");
    }
    int32_t rc;
    {
      std::lock_guard<std::mutex> lk(proj.encode_mu);  // the projector's output buffer is shared by its users
      LogCapture capture;
      // the context's workers spin for a while after a decode; the encoder's threads need the cores
      // (on 2 busy cores, an encode of 16 patches took 370 ms beside them, 6 ms without)
      h.PausePools();
      rc = mtmd_encode_chunk(proj.ctx, span.chunk);
      if (rc != 0) {
        std::string why = capture.Text();
        throw NativeError(ErrorKind::InvalidMedia, "the projector failed to encode a medium" + (why.empty() ? "" : ": " + why));
      }
      float* embd = mtmd_get_output_embd(proj.ctx);
      llama_pos new_n_past = 0;
      QuietAbortScope quiet;
      rc = mtmd_helper_decode_image_chunk(proj.ctx, h.ctx, span.chunk, embd, static_cast<llama_pos>(cached.size()), seq, h.n_batch,
                                          &new_n_past, nullptr, nullptr);
    }
    if (rc != 0) {
      h.ResyncTokens(seq);
      if (Aborted()) return;
      throw NativeError(ErrorKind::Generic, "llama_decode failed on a medium's embeddings");
    }
    cached.insert(cached.end(), req_.prompt.begin() + static_cast<long>(span.begin), req_.prompt.begin() + static_cast<long>(span.end));
    prompt_pos = span.end;
    evaluated += n;
  }
}

bool Stream::Step(int32_t idx) {
  // Output idx is next_token's; output idx + 1 + i is draft[i]'s, valid when draft[i] is the token
  // sampled at the output before it (llama-server's common_sampler_sample_and_accept_n). The sampler
  // sees the same tokens in the same order as without the draft, so the output is the same.
  size_t n_accepted = 0;
  llama_token token = -1;
  bool go = false;
  try {
    for (size_t i = 0;; i++) {
      go = Take(idx + static_cast<int32_t>(i), token);
      if (!go) break;
      if (i < draft.size() && token == draft[i]) {
        n_accepted++;
        continue;
      }
      break;
    }
  } catch (...) {
    if (!draft.empty()) SettleDraft(n_accepted);
    throw;
  }
  if (!draft.empty()) SettleDraft(n_accepted);
  if (!go) return false;
  // A prompt with media is not shifted: dropping part of a picture's embeddings would leave the rest
  // at positions the model never saw them at.
  ContextHandle& h = *h_;
  if (req_.media ? h.seq_tokens[static_cast<size_t>(seq)].size() >= static_cast<size_t>(h.n_ctx_seq) : !MakeRoom(h, seq, req_.prompt)) {
    End("contextFull");
    return false;
  }
  next_token = token;
  return true;
}

void Stream::SettleDraft(size_t n_accepted) {
  ContextHandle& h = *h_;
  auto& cached = h.seq_tokens[static_cast<size_t>(seq)];
  if (n_accepted < draft.size()) {
    size_t keep = cached.size() - (draft.size() - n_accepted);
    if (llama_memory_seq_rm(llama_get_memory(h.ctx), seq, static_cast<llama_pos>(keep), -1)) {
      cached.resize(keep);
    } else {
      llama_memory_seq_rm(llama_get_memory(h.ctx), seq, -1, -1);  // cannot cut: start over
      cached.clear();
    }
  }
  if (h.spec) h.spec->Accept(seq, static_cast<int32_t>(n_accepted));
  drafted += static_cast<int32_t>(draft.size());
  accepted += static_cast<int32_t>(n_accepted);
  draft.clear();
}

bool Stream::Take(int32_t idx, llama_token& out) {
  ContextHandle& h = *h_;
  const llama_vocab* vocab = h.model->vocab;
  if (Aborted()) {
    End("abort");
    return false;
  }
  if (req_.max_tokens >= 0 && generated >= req_.max_tokens) {
    End("maxTokens");
    return false;
  }
  llama_token token = sampler_->Sample(h.ctx, idx);
  if (llama_vocab_is_eog(vocab, token)) {
    End("eog");
    return false;
  }
  generated++;
  held_tokens_.push_back(token);
  if (req_.sampling.top_logprobs >= 0) {
    TokenLogprobs lp = sampler_->Logprobs(h.ctx, idx, token, req_.sampling.top_logprobs);
    LogprobEntry e{token, Piece(token), lp.logprob, {}};
    for (const auto& t : lp.top) e.top.push_back({t.token, Piece(t.token), t.logprob});
    held_logprobs_.push_back(std::move(e));
  }
  pending_bytes_ += Piece(token);
  size_t complete = Utf8CompletePrefix(pending_bytes_);
  held_text_.append(pending_bytes_, 0, complete);
  pending_bytes_.erase(0, complete);
  if (CheckStop()) {
    End("stop");
    return false;
  }
  Emit(false);
  if (req_.max_tokens >= 0 && generated >= req_.max_tokens) {  // no need to decode the last token
    End("maxTokens");
    return false;
  }
  out = token;
  return true;
}

std::string Stream::Piece(llama_token token) const {
  const llama_vocab* vocab = h_->model->vocab;
  // A chat renders only its preserved special tokens (llama-server's accept_special_token)
  const bool special = !req_.sampling.chat.enabled || req_.sampling.chat.preserved.count(token) > 0;
  char piece[256];
  int32_t n = llama_token_to_piece(vocab, token, piece, sizeof(piece), 0, special);
  if (n >= 0) return std::string(piece, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(-n), '\0');
  n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, special);
  big.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return big;
}

void Stream::End(const char* reason) {
  if (ended_) return;  // Step() ends a stream itself; the engine's Finish() then only releases it
  ended_ = true;
  stop_reason_ = reason;
  auto now = Clock::now();
  if (phase == Phase::Prompt) {
    prompt_ms_ = seq >= 0 ? MsBetween(t_begin, now) : 0;
  } else if (phase == Phase::Generate) {
    prompt_ms_ = MsBetween(t_begin, t_first);
    generate_ms_ = MsBetween(t_first, now);
  }
  if (std::string(reason) != "stop") {
    held_text_ += pending_bytes_;  // an incomplete sequence at the very end: let JS replace it
    pending_bytes_.clear();
    Emit(true);
  }
}

Napi::Value Stream::Result(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("stopReason", stop_reason_);
  o.Set("sequence", static_cast<double>(seq));
  o.Set("promptTokens", static_cast<double>(req_.prompt.size()));
  o.Set("evaluatedPromptTokens", static_cast<double>(evaluated));
  o.Set("reusedTokens", static_cast<double>(reused));
  o.Set("promptMs", prompt_ms_);
  o.Set("generatedTokens", static_cast<double>(generated));
  o.Set("generateMs", generate_ms_);
  o.Set("draftedTokens", static_cast<double>(drafted));
  o.Set("acceptedTokens", static_cast<double>(accepted));
  return o;
}

// True when a stop string appeared: emits the text before it and drops the rest.
bool Stream::CheckStop() {
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

namespace {
// Involuntary context switches of this process's threads so far (-1 where not known).
long InvoluntarySwitches() {
#ifdef __linux__
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) == 0) return u.ru_nivcsw;
#endif
  return -1;
}
}  // namespace

// Moves held text to the outgoing chunk. Unless `flush`, keeps back the tail that could still begin
// a stop string. Sends the outgoing chunk when flushing or when the post interval has passed.
void Stream::Emit(bool flush) {
  size_t n = held_text_.size();
  if (!flush && max_stop_ > 0) {
    n = n >= max_stop_ - 1 ? n - (max_stop_ - 1) : 0;
    while (n > 0 && (static_cast<unsigned char>(held_text_[n]) & 0xC0) == 0x80) n--;  // whole characters only
  }
  if (n > 0 || flush) {
    out_text_.append(held_text_, 0, n);
    held_text_.erase(0, n);
    searched_ = searched_ > n ? searched_ - n : 0;
    out_tokens_.insert(out_tokens_.end(), held_tokens_.begin(), held_tokens_.end());
    held_tokens_.clear();
    for (auto& e : held_logprobs_) out_logprobs_.push_back(std::move(e));
    held_logprobs_.clear();
  }
  if (out_text_.empty() && out_tokens_.empty()) return;
  if (out_text_.empty() && !flush) return;  // tokens without text wait for their text
  auto now = Clock::now();
  if (!flush && now - last_post_ < post_interval_) return;
  last_post_ = now;
  const long preempted = InvoluntarySwitches();
  if (preempted >= 0 && preempted_ >= 0) {
    post_interval_ =
        preempted > preempted_ ? std::min(post_interval_ * 2, kPostIntervalMax) : std::max(post_interval_ / 2, kPostIntervalMin);
  }
  preempted_ = preempted;
  PostOut();
}

void Stream::PostOut() {
  std::string text;
  text.swap(out_text_);
  std::vector<llama_token> tokens;
  tokens.swap(out_tokens_);
  std::vector<LogprobEntry> logprobs;
  logprobs.swap(out_logprobs_);
  const bool with_logprobs = req_.sampling.top_logprobs >= 0;
  Post([text = std::move(text), tokens = std::move(tokens), logprobs = std::move(logprobs), with_logprobs](Napi::Env env,
                                                                                                           Napi::Function cb) {
    auto arr = Napi::Int32Array::New(env, tokens.size());
    std::copy(tokens.begin(), tokens.end(), arr.Data());
    if (!with_logprobs) {
      cb.Call({Napi::String::New(env, text), arr});
      return;
    }
    cb.Call({Napi::String::New(env, text), arr, LogprobsToJs(env, logprobs)});
  });
}

Napi::Value StartGeneration(Napi::Env env, ContextHandlePtr h, GenerationRequest req, AbortFlagPtr abort, Napi::Function on_chunk) {
  auto* stream = new Stream(std::move(h), std::move(req), std::move(abort));
  return AsyncOp::Start(env, stream, on_chunk);
}

}  // namespace llama_native
