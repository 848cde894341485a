#include "speculative.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "context_handle.h"
#include "cpu_budget.h"
#include "generation.h"
#include "log.h"

// llama.cpp's common/speculative.h (its common.h is shadowed by ours in this include path)
#include "../vendor/llama.cpp/common/speculative.h"

namespace llama_native {

namespace {

// llama.cpp's limits for a compatible draft vocabulary (speculative.cpp SPEC_VOCAB_MAX_SIZE_DIFFERENCE,
// SPEC_VOCAB_CHECK_START_TOKEN_ID).
constexpr int32_t kMaxVocabSizeDifference = 128;
constexpr int32_t kFirstComparedToken = 5;

std::string Quoted(const char* s) { return std::string("\"") + (s != nullptr ? s : "") + "\""; }

}  // namespace

std::string DraftVocabMismatch(const llama_model* target, const llama_model* draft) {
  const llama_vocab* vt = llama_model_get_vocab(target);
  const llama_vocab* vd = llama_model_get_vocab(draft);
  if (llama_vocab_type(vt) != llama_vocab_type(vd)) {
    return "the tokenizer types differ (target " + std::to_string(llama_vocab_type(vt)) + ", draft " +
           std::to_string(llama_vocab_type(vd)) + ")";
  }
  if (llama_vocab_get_add_bos(vt) != llama_vocab_get_add_bos(vd) ||
      (llama_vocab_get_add_bos(vt) && llama_vocab_bos(vt) != llama_vocab_bos(vd))) {
    return "the BOS tokens differ (target " + std::to_string(llama_vocab_bos(vt)) +
           (llama_vocab_get_add_bos(vt) ? ", added" : ", not added") + "; draft " + std::to_string(llama_vocab_bos(vd)) +
           (llama_vocab_get_add_bos(vd) ? ", added)" : ", not added)");
  }
  if (llama_vocab_get_add_eos(vt) != llama_vocab_get_add_eos(vd) ||
      (llama_vocab_get_add_eos(vt) && llama_vocab_eos(vt) != llama_vocab_eos(vd))) {
    return "the EOS tokens differ (target " + std::to_string(llama_vocab_eos(vt)) +
           (llama_vocab_get_add_eos(vt) ? ", added" : ", not added") + "; draft " + std::to_string(llama_vocab_eos(vd)) +
           (llama_vocab_get_add_eos(vd) ? ", added)" : ", not added)");
  }
  const int32_t nt = llama_vocab_n_tokens(vt);
  const int32_t nd = llama_vocab_n_tokens(vd);
  if (std::abs(nt - nd) > kMaxVocabSizeDifference) {
    return "the vocabulary sizes differ by more than " + std::to_string(kMaxVocabSizeDifference) + " (target " + std::to_string(nt) +
           " tokens, draft " + std::to_string(nd) + ")";
  }
  for (int32_t i = kFirstComparedToken; i < std::min(nt, nd); i++) {
    const char* a = llama_vocab_get_text(vt, i);
    const char* b = llama_vocab_get_text(vd, i);
    if (std::strcmp(a != nullptr ? a : "", b != nullptr ? b : "") != 0) {
      return "token " + std::to_string(i) + " is " + Quoted(a) + " in the target and " + Quoted(b) + " in the draft";
    }
  }
  return "";
}

Speculator::Speculator(const SpeculativeConfig& config, ContextHandle& h) : h_(h), config_(config) {
  const size_t n_seq = static_cast<size_t>(h.n_seq_max);
  history_.resize(n_seq);
  common_params_speculative params;
  if (config.kind == SpeculativeConfig::Kind::Draft) {
    llama_model* draft = config.draft_model->model;
    std::string why = DraftVocabMismatch(h.model->model, draft);
    if (!why.empty()) {
      throw NativeError(ErrorKind::Generic,
                        "the draft model's vocabulary does not match the target model's: " + why +
                            " (speculative decoding needs the same vocabulary, as llama.cpp's common_speculative_are_compatible checks)");
    }
    // The draft context mirrors the target's shape: the same sequences and cells per sequence, and
    // a batch as large, since the target's batches are replayed on it.
    llama_context_params p = llama_context_default_params();
    p.n_ctx = static_cast<uint32_t>(h.n_ctx);
    p.n_batch = static_cast<uint32_t>(h.n_batch);
    p.n_ubatch = llama_n_ubatch(h.ctx);
    p.n_seq_max = static_cast<uint32_t>(h.n_seq_max);
    p.kv_unified = h.n_seq_max > 1 && h.n_ctx_seq == h.n_ctx;
    p.n_threads = h.n_threads;
    p.n_threads_batch = h.n_threads_batch;
    p.no_perf = true;
    LogCapture capture;
    ctx_dft_ = llama_init_from_model(draft, p);
    if (ctx_dft_ == nullptr) {
      std::string log = capture.Text();
      throw NativeError(ErrorKind::Generic, "failed to create the draft model's context" + (log.empty() ? "" : ": " + log));
    }
    if (static_cast<int32_t>(llama_n_ctx_seq(ctx_dft_)) < h.n_ctx_seq) {
      llama_free(ctx_dft_);
      ctx_dft_ = nullptr;
      throw NativeError(ErrorKind::Generic, "the draft model's context holds fewer tokens per sequence than the target's");
    }
    if (h.threadpool != nullptr) {
      llama_attach_threadpool(ctx_dft_, h.threadpool, h.threadpool_batch != nullptr ? h.threadpool_batch : h.threadpool);
    }
    threads_now_ = std::max(h.n_threads, h.n_threads_batch);
    batch_ = llama_batch_init(h.n_batch, 0, 1);
    dft_tokens_.resize(n_seq);
    params.types = {COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE};
    params.draft.n_max = config.n_max;
    params.draft.n_min = config.n_min;
    params.draft.p_min = config.p_min;
    params.draft.ctx_tgt = h.ctx;
    params.draft.ctx_dft = ctx_dft_;
  } else {
    params.types = {COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE};
    params.ngram_simple.size_n = static_cast<uint16_t>(config.size_n);
    params.ngram_simple.size_m = static_cast<uint16_t>(config.size_m);
  }
  std::string error;
  try {
    spec_ = common_speculative_init(params, static_cast<uint32_t>(h.n_seq_max));
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (spec_ == nullptr) {
    if (batch_.token != nullptr) llama_batch_free(batch_);
    batch_ = {};
    if (ctx_dft_ != nullptr) {
      llama_detach_threadpool(ctx_dft_);
      llama_free(ctx_dft_);
      ctx_dft_ = nullptr;
    }
    throw NativeError(ErrorKind::Generic, "llama.cpp could not set up speculative decoding" + (error.empty() ? "" : ": " + error));
  }
}

Speculator::~Speculator() {
  common_speculative_free(spec_);
  if (batch_.token != nullptr) llama_batch_free(batch_);
  if (ctx_dft_ != nullptr) {
    llama_detach_threadpool(ctx_dft_);
    llama_free(ctx_dft_);
  }
}

void Speculator::Begin(int32_t seq) { common_speculative_begin(spec_, seq, h_.seq_tokens[static_cast<size_t>(seq)]); }

// Brings the draft cache of every requesting sequence to what the target holds. Requests whose
// catch-up failed get n_max 0. Returns whether any request may still draft.
bool Speculator::SyncDraftContext(std::vector<Request>& requests) {
  llama_memory_t mem = llama_get_memory(ctx_dft_);
  for (size_t i = 0; i < dft_tokens_.size(); i++) {  // the target evicted or cleared it: so does the draft
    if (h_.seq_tokens[i].empty() && !dft_tokens_[i].empty()) {
      llama_memory_seq_rm(mem, static_cast<llama_seq_id>(i), -1, -1);
      dft_tokens_[i].clear();
    }
  }
  struct Todo {
    Request* r;
    size_t next;  // next token of seq_tokens to decode
  };
  std::vector<Todo> todo;
  for (Request& r : requests) {
    auto& have = dft_tokens_[static_cast<size_t>(r.seq)];
    const auto& want = h_.seq_tokens[static_cast<size_t>(r.seq)];
    size_t common = CommonPrefix(have, want);
    if (common < have.size()) {
      if (!llama_memory_seq_rm(mem, r.seq, static_cast<llama_pos>(common), -1)) {
        llama_memory_seq_rm(mem, r.seq, -1, -1);
        common = 0;
      }
      have.resize(common);
    }
    if (common < want.size()) todo.push_back({&r, common});
  }
  // Decode what is missing, n_batch tokens at a time, several sequences per batch.
  while (!todo.empty()) {
    common_batch_clear(batch_);
    std::vector<std::pair<Todo*, size_t>> in_batch;  // (which, how many)
    for (Todo& t : todo) {
      const auto& want = h_.seq_tokens[static_cast<size_t>(t.r->seq)];
      size_t n = std::min(want.size() - t.next, static_cast<size_t>(h_.n_batch - batch_.n_tokens));
      if (n == 0) break;
      for (size_t j = 0; j < n; j++) {
        common_batch_add(batch_, want[t.next + j], static_cast<llama_pos>(t.next + j), {t.r->seq}, false);
      }
      in_batch.emplace_back(&t, n);
    }
    bool ok = false;
    try {
      ok = common_speculative_process(spec_, batch_);
    } catch (const std::exception&) {
      ok = false;
    }
    for (auto& [t, n] : in_batch) {
      auto& have = dft_tokens_[static_cast<size_t>(t->r->seq)];
      const auto& want = h_.seq_tokens[static_cast<size_t>(t->r->seq)];
      if (ok) {
        have.insert(have.end(), want.begin() + static_cast<long>(t->next), want.begin() + static_cast<long>(t->next + n));
        t->next += n;
      } else {
        // Start this sequence's draft cache over next time; no draft now.
        llama_memory_seq_rm(mem, t->r->seq, -1, -1);
        have.clear();
        t->r->n_max = 0;
        t->next = want.size();
      }
    }
    todo.erase(std::remove_if(todo.begin(), todo.end(),
                              [&](const Todo& t) { return t.next >= h_.seq_tokens[static_cast<size_t>(t.r->seq)].size(); }),
               todo.end());
  }
  return std::any_of(requests.begin(), requests.end(), [](const Request& r) { return r.n_max > 0; });
}

// The draft context shares the target's thread pools and follows its thread count: what the
// target's last decode was granted (its tuner may have measured one thread faster on busy cores,
// cpu_budget.h), leased from the process's cores like any decode. With more threads than the cores
// can run, ggml's spinning barriers made drafting 30 times slower on a loaded 2-core machine.
void Speculator::UseThreads(int32_t n) {
  const int32_t full = std::max(h_.n_threads, h_.n_threads_batch);
  n = std::max(1, std::min(n, full));
  if (n == threads_now_) return;
  if (n == full && h_.threadpool != nullptr) {
    llama_attach_threadpool(ctx_dft_, h_.threadpool, h_.threadpool_batch != nullptr ? h_.threadpool_batch : h_.threadpool);
    llama_set_n_threads(ctx_dft_, h_.n_threads, h_.n_threads_batch);
  } else {
    if (threads_now_ == full && h_.threadpool != nullptr) llama_detach_threadpool(ctx_dft_);
    llama_set_n_threads(ctx_dft_, std::min(n, h_.n_threads), std::min(n, h_.n_threads_batch));
  }
  threads_now_ = n;
}

void Speculator::Draft(std::vector<Request>& requests) {
  for (Request& r : requests) r.out->clear();
  std::optional<CpuLease> lease;
  if (ctx_dft_ != nullptr) {
    lease.emplace(std::max(1, h_.threads_now));
    UseThreads(lease->threads());
    if (!SyncDraftContext(requests)) return;
  }
  bool any = false;
  for (Request& r : requests) {
    if (r.n_max <= 0) continue;
    auto& history = history_[static_cast<size_t>(r.seq)];
    history = h_.seq_tokens[static_cast<size_t>(r.seq)];
    common_speculative_get_draft_params(spec_, r.seq) = {
        /* .drafting = */ true,
        /* .n_max    = */ r.n_max,
        /* .n_past   = */ static_cast<llama_pos>(history.size()),
        /* .id_last  = */ r.id_last,
        /* .prompt   = */ &history,
        /* .result   = */ r.out,
    };
    any = true;
  }
  if (!any) return;
  try {
    common_speculative_draft(spec_);
  } catch (const std::exception&) {
    for (Request& r : requests) r.out->clear();
  }
  const int32_t n_vocab = h_.model->n_vocab;
  for (Request& r : requests) {
    common_speculative_get_draft_params(spec_, r.seq).drafting = false;
    if (static_cast<int32_t>(r.out->size()) > r.n_max) r.out->resize(static_cast<size_t>(std::max(r.n_max, 0)));
    // A draft vocabulary may be up to 128 tokens larger than the target's (llama.cpp's check): a
    // token the target does not have would make its decode fail (invalid batch). The draft ends there.
    auto bad = std::find_if(r.out->begin(), r.out->end(), [&](llama_token t) { return t < 0 || t >= n_vocab; });
    r.out->erase(bad, r.out->end());
    // The draft model decoded id_last and its own drafts past what the target holds: drop them,
    // the target's verified tokens are decoded there next time.
    if (ctx_dft_ != nullptr && r.n_max > 0) {
      auto& have = dft_tokens_[static_cast<size_t>(r.seq)];
      if (!llama_memory_seq_rm(llama_get_memory(ctx_dft_), r.seq, static_cast<llama_pos>(have.size()), -1)) {
        llama_memory_seq_rm(llama_get_memory(ctx_dft_), r.seq, -1, -1);
        have.clear();
      }
    }
  }
}

void Speculator::Accept(int32_t seq, int32_t n) { common_speculative_accept(spec_, seq, static_cast<uint16_t>(std::max(n, 0))); }

}  // namespace llama_native
