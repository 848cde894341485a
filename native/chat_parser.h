// ChatParser: llama.cpp's common_chat_parse over a generation's output, as llama-server's
// task_result_state runs it (partial while streaming, final at the end), with the deltas
// (common_chat_msg_diff::compute_diffs) since the previous call. And jsonSchemaToGrammar(), llama.cpp's
// json_schema_to_grammar. Both are synchronous: parsing one output is pure CPU work on a string.
#pragma once

#include <napi.h>

#include <random>
#include <string>
#include <vector>

#include "chat.h"
#include "common.h"

namespace llama_native {

class ChatParser : public Wrapped<ChatParser> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit ChatParser(const Napi::CallbackInfo& info);  // (NativeChatParserOptions)

 private:
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value GetMessage(const Napi::CallbackInfo& info);

  common_chat_parser_params params_;
  common_chat_msg msg_;
  std::vector<std::string> tool_call_ids_;
  std::mt19937 rng_;
};

// jsonSchemaToGrammar(schemaJson, forceGbnf?)
Napi::Value JsonSchemaToGrammar(const Napi::CallbackInfo& info);

}  // namespace llama_native
