// libFuzzer harness: GBNF text the way llama-native hands it to llama.cpp: through our own check
// (native/grammar_check.h) first, then llama_sampler_init_grammar, and when it parses, one apply
// and accept over the first 512 tokens of a real vocabulary (LLAMA_NATIVE_FUZZ_VOCABS, first entry).
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "../native/grammar_check.h"
#include "fuzz_common.h"
#include "llama.h"

static llama_model* g_model = nullptr;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  g_model = FuzzLoadVocabs().front();
  return 0;
}

// A JavaScript string reaches llama.cpp as valid UTF-8 (N-API encodes it; lone surrogates become
// U+FFFD), so other bytes are not inputs a caller can produce. (Invalid UTF-8 sends llama.cpp's
// GBNF parser into unbounded memory use: not reachable through llama-native.)
static bool ValidUtf8(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!ValidUtf8(data, size)) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!llama_native::CheckGrammarText(text).empty()) return 0;  // llama-native refuses it
  const llama_vocab* vocab = llama_model_get_vocab(g_model);
  // llama-native catches C++ exceptions from llama.cpp (they become JS errors); only a crash counts
  llama_sampler* g = nullptr;
  try {
    g = llama_sampler_init_grammar(vocab, text.c_str(), "root");
  } catch (const std::exception&) {
    return 0;
  }
  if (g == nullptr) return 0;
  std::vector<llama_token_data> cand;
  for (llama_token t = 0; t < 512 && t < llama_vocab_n_tokens(vocab); t++) cand.push_back({t, 0.0f, 0.0f});
  llama_token_data_array arr{cand.data(), cand.size(), -1, false};
  try {
    llama_sampler_apply(g, &arr);
    for (const auto& c : cand) {
      if (std::isfinite(c.logit)) {
        llama_sampler_accept(g, c.id);
        break;
      }
    }
  } catch (const std::exception&) {
  }
  llama_sampler_free(g);
  return 0;
}
