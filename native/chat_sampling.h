// The chat fields of a generation: what llama-server's request schema (tools/server/server-schema.cpp)
// reads from the fields oaicompat_chat_params_parse adds to a chat request — a lazy grammar with its
// triggers, the preserved tokens (special tokens that are rendered as text), the generation prompt a
// tool-call or JSON grammar is prefilled with, and the reasoning budget with the template's thinking
// tags. Generate's `chatSampling` param carries them as JSON (src/chat/chat.ts builds it); "" means a
// plain generation.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "../vendor/llama.cpp/common/common.h"
#include "llama.h"

namespace llama_native {

struct ChatSampling {
  bool enabled = false;
  bool grammar_lazy = false;
  std::vector<common_grammar_trigger> triggers;  // as server-schema.cpp makes them (a one-token word is a token trigger)
  std::set<llama_token> preserved;  // rendered with their text; other special tokens render empty
  std::string generation_prompt;  // a non-lazy chat grammar accepts its tokens first
  // Reasoning budget (common_reasoning_budget_init): -1 unlimited. Only set when the template has
  // thinking tags.
  int32_t reasoning_budget = -1;
  std::vector<llama_token> reasoning_start;
  std::vector<std::vector<llama_token>> reasoning_end;
  std::vector<llama_token> reasoning_forced;  // what is forced when the budget runs out: the first end tag
};

// Parses `json` ({ grammar_lazy, grammar_triggers, preserved_tokens, generation_prompt,
// reasoning_budget_tokens, reasoning_budget_start_tag, reasoning_budget_end_tags,
// reasoning_budget_message }) against `vocab`. Throws NativeError with llama-server's message on what
// it refuses (a lazy grammar without triggers, a single-token trigger word that is not preserved).
ChatSampling ParseChatSampling(const std::string& json, const llama_vocab* vocab);

}  // namespace llama_native
