#include "context_shift.h"

#include <algorithm>

namespace llama_native {

bool MakeRoom(ContextHandle& h, int32_t seq, const std::vector<llama_token>& prompt) {
  auto& cached = h.seq_tokens[static_cast<size_t>(seq)];
  const int32_t n_past = static_cast<int32_t>(cached.size());
  if (!h.shift_enabled) return n_past < h.n_ctx_seq;
  // llama-completion shifts before decoding a token when n_past + 1 >= n_ctx: the last cell stays free.
  if (n_past + 1 < h.n_ctx_seq) return true;
  const int32_t n_prompt = static_cast<int32_t>(prompt.size());
  int32_t n_keep;
  if (h.shift_keep < 0 || h.shift_keep > n_prompt) {
    n_keep = n_prompt;
  } else {
    // llama.cpp always keeps the BOS token besides the n_keep it is given
    const bool bos = n_prompt > 0 && prompt[0] == llama_vocab_bos(h.model->vocab);
    n_keep = h.shift_keep + (bos ? 1 : 0);
  }
  n_keep = std::max(0, std::min(n_keep, h.n_ctx_seq - 4));  // llama-server's bound
  const int32_t n_left = n_past - n_keep;
  const int32_t n_discard = std::clamp(n_left / 2, 0, std::max(0, n_left - 1));
  if (n_discard <= 0) return false;
  llama_memory_t mem = llama_get_memory(h.ctx);
  if (!llama_memory_seq_rm(mem, seq, n_keep, n_keep + n_discard)) return false;
  llama_memory_seq_add(mem, seq, n_keep + n_discard, n_past, -n_discard);
  cached.erase(cached.begin() + n_keep, cached.begin() + n_keep + n_discard);
  return true;
}

}  // namespace llama_native
