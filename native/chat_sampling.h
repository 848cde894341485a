// The chat fields of a generation: what llama-server's request schema (tools/server/server-schema.cpp)
// reads from the fields oaicompat_chat_params_parse adds to a chat request — a lazy grammar with its
// triggers, the preserved tokens (special tokens that are rendered as text), and the generation
// prompt a tool-call or JSON grammar is prefilled with. Generate's `chatSampling` param carries them
// as JSON (src/chat/chat.ts builds it); "" means a plain generation.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "llama.h"

namespace llama_native {

struct ChatSampling {
  bool enabled = false;
  bool grammar_lazy = false;
  std::vector<std::string> trigger_patterns;  // regexes, as common_sampler_init makes them from the triggers
  std::vector<llama_token> trigger_tokens;
  std::set<llama_token> preserved;  // rendered with their text; other special tokens render empty
  std::vector<llama_token> prefill;  // generation prompt tokens a non-lazy grammar accepts first
};

// Parses `json` ({ grammar_lazy, grammar_triggers, preserved_tokens, generation_prompt }) against
// `vocab`. Throws NativeError with llama-server's message on what it refuses (a lazy grammar without
// triggers, a single-token trigger word that is not preserved).
ChatSampling ParseChatSampling(const std::string& json, const llama_vocab* vocab);

}  // namespace llama_native
