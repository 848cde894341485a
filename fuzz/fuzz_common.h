// Setup shared by the libFuzzer harnesses: a quiet llama.cpp, and the real vocabularies that
// scripts/fuzz.mjs names in LLAMA_NATIVE_FUZZ_VOCABS (colon-separated ggml-vocab-*.gguf paths).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"

// A JavaScript string reaches llama.cpp as valid UTF-8 (N-API encodes it; lone surrogates become
// U+FFFD), so other bytes are not inputs a caller can produce.
inline bool FuzzValidUtf8(const uint8_t* p, size_t n) {
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

#ifdef LLAMA_NATIVE_FUZZ_COMMON
#include "log.h"
// llama.cpp's common/ logger (chat harnesses): paused, as the addon pauses it, it drops messages.
inline void FuzzQuietCommonLog() { common_log_pause(common_log_main()); }
#endif

inline void FuzzQuietInit() {
  llama_log_set([](enum ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
}

// Loads every listed vocabulary (vocab-only); aborts when none loads, as a misconfigured run should.
inline std::vector<llama_model*> FuzzLoadVocabs() {
  std::vector<llama_model*> models;
  const char* list = std::getenv("LLAMA_NATIVE_FUZZ_VOCABS");
  std::stringstream ss(list != nullptr ? list : "");
  std::string path;
  while (std::getline(ss, path, ':')) {
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    if (llama_model* m = llama_model_load_from_file(path.c_str(), mp)) models.push_back(m);
  }
  if (models.empty()) std::abort();
  return models;
}
