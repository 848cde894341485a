// A chat request as llama-server reads it (tools/server/server-common.cpp oaicompat_chat_params_parse),
// rendered with llama.cpp's common_chat_templates_apply. Plain C++ (no N-API): the ChatTemplates
// wrapper runs it on a worker thread and fuzz/chat_template_fuzzer.cpp calls it directly.
#pragma once

#include <chrono>
#include <string>

#include "chat.h"
#include "jinja/runtime.h"

namespace llama_native::chat {

struct ApplyResult {
  common_chat_params params;
  std::string reasoning_format;  // common_reasoning_format_name of the request's (default: deepseek)
  bool enable_thinking = false;
  bool parallel_tool_calls = false;
  bool parse_tool_calls = false;
  bool is_continuation = false;
  bool add_generation_prompt = true;
};

// Parses `request_json` (NativeChatRequest in src/chat-binding.ts) the way llama-server parses a
// /v1/chat/completions body, with its command-line settings taken from the request (enable_thinking,
// prefill_assistant, now), and applies the templates. Throws std::exception with llama-server's
// messages on a bad request, and whatever the Jinja engine throws on a failing template.
ApplyResult ApplyRequest(const common_chat_templates* tmpls, bool supports_thinking, const std::string& request_json);

// Every Jinja render on this thread while it lives (common_chat_templates_init renders a template
// several times to find its capabilities; apply renders it again to find the format) ends with an
// error once `ms` have passed: a chat template comes from the model file, i.e. from whoever made it
// (vendor/patches/0006-jinja-bounds.patch also bounds each render's steps, nesting and size).
#ifdef LLAMA_NATIVE_SANITIZE
// The sanitized build (scripts/sanitize.mjs: ASan + UBSan at -O1) renders several times slower; its
// limits scale as its tests' time limits do (test/helpers.ts timeScale), so real templates still fit.
constexpr int kTemplateTimeLimitMs = 20000;
#else
constexpr int kTemplateTimeLimitMs = 2000;
#endif
struct RenderDeadline {
  explicit RenderDeadline(int ms = kTemplateTimeLimitMs) {
    jinja::exec_set_deadline(std::chrono::steady_clock::now() + std::chrono::milliseconds(ms));
  }
  ~RenderDeadline() { jinja::exec_clear_deadline(); }
  RenderDeadline(const RenderDeadline&) = delete;
  RenderDeadline& operator=(const RenderDeadline&) = delete;
};

// The json_value() of llama-server: the key's value as T, or `def` when it is missing, null or of
// another type.
template <typename T>
T JsonValue(const common_json& body, const std::string& key, const T& def) {
  if (!body.is_object() || !body.contains(key) || body.at(key).is_null()) return def;
  try {
    return body.at(key).get<T>();
  } catch (const common_json_error&) {
    return def;
  }
}

}  // namespace llama_native::chat
