// libFuzzer harness: text through llama.cpp's tokenizers the way llama-native's tokenize,
// detokenize and tokenToPiece call them. The first input byte picks the vocabulary and the
// addSpecial / parseSpecial flags; the rest is the text. Vocabularies: the real ggml-vocab-*.gguf
// files that scripts/fuzz.mjs names in LLAMA_NATIVE_FUZZ_VOCABS (colon-separated).
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "llama.h"

static std::vector<llama_model*> g_models;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  g_models = FuzzLoadVocabs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const llama_vocab* vocab = llama_model_get_vocab(g_models[data[0] % g_models.size()]);
  const bool add_special = (data[0] >> 4) & 1, parse_special = (data[0] >> 5) & 1;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  // llama-native turns C++ exceptions from llama.cpp into JS errors; only a crash counts
  try {
    std::vector<llama_token> tokens(text.size() + 4);
    int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), static_cast<int32_t>(tokens.size()),
                               add_special, parse_special);
    if (n < 0) return 0;
    tokens.resize(static_cast<size_t>(n));
    std::string out(tokens.size() * 4 + 16, '\0');
    int32_t m = llama_detokenize(vocab, tokens.data(), n, out.data(), static_cast<int32_t>(out.size()), false, true);
    if (m < 0) {
      out.resize(static_cast<size_t>(-m));
      llama_detokenize(vocab, tokens.data(), n, out.data(), static_cast<int32_t>(out.size()), false, true);
    }
    char piece[256];
    for (llama_token t : tokens) llama_token_to_piece(vocab, t, piece, sizeof(piece), 0, true);
  } catch (const std::exception&) {
  }
  return 0;
}
