#include "chat_sampling.h"

#include <algorithm>
#include <cctype>

#include "../vendor/llama.cpp/common/common.h"
#include "../vendor/llama.cpp/common/json.h"
#include "common.h"

namespace llama_native {

ChatSampling ParseChatSampling(const std::string& text, const llama_vocab* vocab) {
  ChatSampling c;
  if (text.empty()) return c;
  c.enabled = true;
  common_json data = common_json::parse_no_throw(text);
  if (data.is_discarded() || !data.is_object()) throw NativeError(ErrorKind::Type, "chatSampling must be a JSON object");
  try {
    c.grammar_lazy = data.value("grammar_lazy", false);
    // server-schema.cpp "preserved_tokens": each text that is one token
    if (data.contains("preserved_tokens")) {
      for (const auto& t : data.at("preserved_tokens")) {
        auto ids = common_tokenize(vocab, t.get<std::string>(), false, true);
        if (ids.size() == 1) c.preserved.insert(ids[0]);
      }
    }
    // server-schema.cpp "grammar_triggers": a word that is one (preserved) token becomes a token trigger
    if (data.contains("grammar_triggers")) {
      for (const auto& t : data.at("grammar_triggers")) {
        std::string type = t.at("type").get<std::string>();
        std::string value = t.at("value").get<std::string>();
        common_grammar_trigger trigger;
        trigger.value = value;
        if (type == "word") {
          trigger.type = COMMON_GRAMMAR_TRIGGER_TYPE_WORD;
          auto ids = common_tokenize(vocab, value, false, true);
          if (ids.size() == 1) {
            if (c.preserved.count(ids[0]) == 0) {
              throw NativeError(ErrorKind::Generic, "Grammar trigger word should be marked as preserved token: " + value);
            }
            trigger.type = COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN;
            trigger.token = ids[0];
          }
        } else if (type == "pattern") {
          trigger.type = COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN;
        } else if (type == "patternFull") {
          trigger.type = COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL;
        } else if (type == "token") {
          int64_t token = t.at("token").get<long long>();
          if (token < 0 || token >= llama_vocab_n_tokens(vocab)) {
            throw NativeError(ErrorKind::Range, "grammar trigger token " + std::to_string(token) + " is not in the vocabulary");
          }
          trigger.type = COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN;
          trigger.token = static_cast<llama_token>(token);
        } else {
          throw NativeError(ErrorKind::Type, "unknown grammar trigger type '" + type + "'");
        }
        c.triggers.push_back(std::move(trigger));
      }
    }
    if (c.grammar_lazy && c.triggers.empty()) {
      throw NativeError(ErrorKind::Generic, "Error: no triggers set for lazy grammar!");
    }
    c.generation_prompt = data.value("generation_prompt", std::string());
    // server-schema.cpp "reasoning_budget_*": the tags as tokens; the first end tag (after the
    // message, if any) is what the budget forces
    c.reasoning_budget = data.value("reasoning_budget_tokens", -1);
    if (c.reasoning_budget < -1) throw NativeError(ErrorKind::Range, "reasoning_budget_tokens must be -1 or more");
    if (data.contains("reasoning_budget_start_tag")) {
      c.reasoning_start = common_tokenize(vocab, data.at("reasoning_budget_start_tag").get<std::string>(), false, true);
    }
    if (data.contains("reasoning_budget_end_tags")) {
      for (const auto& t : data.at("reasoning_budget_end_tags")) {
        std::string tag = t.get<std::string>();
        if (!tag.empty()) c.reasoning_end.push_back(common_tokenize(vocab, tag, false, true));
      }
    }
    if (!c.reasoning_end.empty()) {
      c.reasoning_forced = c.reasoning_end.front();
      std::string message = data.value("reasoning_budget_message", std::string());
      if (!message.empty()) {
        auto m = common_tokenize(vocab, message, false, true);
        c.reasoning_forced.insert(c.reasoning_forced.begin(), m.begin(), m.end());
      }
    }
  } catch (const common_json_error& e) {
    throw NativeError(ErrorKind::Type, std::string("chatSampling: ") + e.what());
  }
  return c;
}

}  // namespace llama_native
