// Setup shared by the libFuzzer harnesses: a quiet llama.cpp, and the real vocabularies that
// scripts/fuzz.mjs names in LLAMA_NATIVE_FUZZ_VOCABS (colon-separated ggml-vocab-*.gguf paths).
#pragma once

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"

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
