// libFuzzer harness: llama.cpp's n-gram drafter (common/speculative.h, ngram-simple) on token
// histories the fuzzer chooses, driven as native/speculative.cpp drives it for
// createContext({ speculative: { ngram: { sizeN, sizeM } } }): init for several sequences, begin, then
// per step a draft with an n_max limit for each sequence and an accept of part of it. The first bytes
// pick sizeN and sizeM (within the public ranges' small end), n_max and the number of sequences; the
// rest is the history, two bytes per token (a 512-token vocabulary, as stories260K's). Besides a
// crash, a draft longer than n_max, or one whose tokens are not a copy of the history's, is a finding.
#include <cstdint>
#include <exception>
#include <vector>

#include "fuzz_common.h"
#include "speculative.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  FuzzQuietCommonLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const int size_n = 1 + data[0] % 16;
  const int size_m = 1 + data[1] % 64;
  const int n_max = 1 + data[2] % 64;
  const uint32_t n_seq = 1 + data[3] % 4;
  std::vector<llama_token> all;
  for (size_t i = 4; i + 1 < size; i += 2) all.push_back(static_cast<llama_token>((data[i] | (data[i + 1] << 8)) % 512));
  if (all.empty()) return 0;

  common_params_speculative params;
  params.types = {COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE};
  params.ngram_simple.size_n = static_cast<uint16_t>(size_n);
  params.ngram_simple.size_m = static_cast<uint16_t>(size_m);
  common_speculative* spec = nullptr;
  try {
    spec = common_speculative_init(params, n_seq);
  } catch (const std::exception&) {
    return 0;
  }
  if (spec == nullptr) __builtin_trap();  // ngram-simple needs no model: it must initialize

  // Each sequence gets a suffix of the history; it grows one token per step (the last "sampled").
  std::vector<std::vector<llama_token>> history(n_seq), drafts(n_seq);
  std::vector<size_t> next(n_seq);
  for (uint32_t s = 0; s < n_seq; s++) {
    size_t start = (all.size() * s) / (n_seq + 1);
    size_t cut = start + (all.size() - start) / 2;
    history[s].assign(all.begin() + static_cast<long>(start), all.begin() + static_cast<long>(cut));
    next[s] = cut;
    common_speculative_begin(spec, static_cast<llama_seq_id>(s), history[s]);
  }
  for (int step = 0; step < 64; step++) {
    bool any = false;
    for (uint32_t s = 0; s < n_seq; s++) {
      drafts[s].clear();
      if (next[s] >= all.size()) continue;
      common_speculative_get_draft_params(spec, static_cast<llama_seq_id>(s)) = {
          /* .drafting = */ true,
          /* .n_max    = */ n_max,
          /* .n_past   = */ static_cast<llama_pos>(history[s].size()),
          /* .id_last  = */ all[next[s]],
          /* .prompt   = */ &history[s],
          /* .result   = */ &drafts[s],
      };
      any = true;
    }
    if (!any) break;
    common_speculative_draft(spec);
    for (uint32_t s = 0; s < n_seq; s++) {
      if (next[s] >= all.size()) continue;
      const auto& d = drafts[s];
      if (static_cast<int>(d.size()) > n_max) __builtin_trap();
      // every drafted token continues an earlier occurrence of the n-gram: it is in the history
      for (llama_token t : d) {
        bool found = false;
        for (llama_token h : history[s]) found = found || h == t;
        if (!found) __builtin_trap();
      }
      // the target "accepts" as many as the real continuation agrees with, as the engine does
      history[s].push_back(all[next[s]]);
      next[s]++;
      size_t accepted = 0;
      while (accepted < d.size() && next[s] < all.size() && d[accepted] == all[next[s]]) {
        history[s].push_back(all[next[s]]);
        next[s]++;
        accepted++;
      }
      if (!d.empty()) common_speculative_accept(spec, static_cast<llama_seq_id>(s), static_cast<uint16_t>(accepted));
    }
  }
  common_speculative_free(spec);
  return 0;
}
