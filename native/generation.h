// The native generation loop: decode the prompt in n_batch chunks (reusing the cached prefix),
// then sample -> decode -> detokenize until end-of-generation, maxTokens, a stop string, a full
// context or the abort flag, streaming UTF-8-whole text pieces to JS without waiting for it.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "common.h"
#include "context.h"
#include "sampler.h"

namespace llama_native {

struct GenerationRequest {
  std::vector<llama_token> prompt;
  SamplingParams sampling;
  int32_t max_tokens = -1;  // -1: until the context is full
  std::vector<std::string> stop;

  // Reads (promptTokens, options) and checks everything llama.cpp would assert on.
  static GenerationRequest FromJs(const Napi::CallbackInfo& info, const ContextHandle& h);
};

Napi::Value StartGeneration(Napi::Env env, ContextHandlePtr h, GenerationRequest req, AbortFlagPtr abort,
                            Napi::Function on_chunk);

}  // namespace llama_native
