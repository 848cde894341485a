#include "chat_sampling.h"

#include <algorithm>
#include <cctype>

#include "../vendor/llama.cpp/common/common.h"
#include "../vendor/llama.cpp/common/json.h"
#include "common.h"

namespace llama_native {

namespace {

std::string Anchored(const std::string& pattern) {
  if (pattern.empty()) return "^$";
  return (pattern.front() != '^' ? "^" : "") + pattern + (pattern.back() != '$' ? "$" : "");
}

}  // namespace

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
    // server-schema.cpp "grammar_triggers", then common_sampler_init's conversion to patterns
    if (data.contains("grammar_triggers")) {
      for (const auto& t : data.at("grammar_triggers")) {
        std::string type = t.at("type").get<std::string>();
        std::string value = t.at("value").get<std::string>();
        if (type == "word") {
          auto ids = common_tokenize(vocab, value, false, true);
          if (ids.size() == 1) {
            if (c.preserved.count(ids[0]) == 0) {
              throw NativeError(ErrorKind::Generic, "Grammar trigger word should be marked as preserved token: " + value);
            }
            c.trigger_tokens.push_back(ids[0]);
          } else {
            c.trigger_patterns.push_back(regex_escape(value));
          }
        } else if (type == "pattern") {
          c.trigger_patterns.push_back(value);
        } else if (type == "patternFull") {
          c.trigger_patterns.push_back(Anchored(value));
        } else if (type == "token") {
          int64_t token = t.at("token").get<long long>();
          if (token < 0 || token >= llama_vocab_n_tokens(vocab)) {
            throw NativeError(ErrorKind::Range, "grammar trigger token " + std::to_string(token) + " is not in the vocabulary");
          }
          c.trigger_tokens.push_back(static_cast<llama_token>(token));
        } else {
          throw NativeError(ErrorKind::Type, "unknown grammar trigger type '" + type + "'");
        }
      }
    }
    if (c.grammar_lazy && c.trigger_patterns.empty() && c.trigger_tokens.empty()) {
      throw NativeError(ErrorKind::Generic, "Error: no triggers set for lazy grammar!");
    }
    // common_sampler_init: the generation prompt's tokens, less a leading space some tokenizers add
    std::string gp = data.value("generation_prompt", std::string());
    if (!gp.empty()) {
      auto tokens = common_tokenize(vocab, gp, false, true);
      for (size_t i = 0; i < tokens.size(); i++) {
        std::string piece = common_token_to_piece(vocab, tokens[i], true);
        if (i == 0 && !piece.empty() && std::isspace(static_cast<unsigned char>(piece[0])) &&
            !std::isspace(static_cast<unsigned char>(gp[0]))) {
          continue;
        }
        c.prefill.push_back(tokens[i]);
      }
    }
  } catch (const common_json_error& e) {
    throw NativeError(ErrorKind::Type, std::string("chatSampling: ") + e.what());
  }
  return c;
}

}  // namespace llama_native
