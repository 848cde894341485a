// libFuzzer harness: model output through llama.cpp's chat parser (common_chat_parse), the way
// ChatParser runs it while streaming: every prefix cut the fuzzer chooses parsed as partial, then the
// whole as final, with the deltas between consecutive messages (compute_diffs). The parsers are the
// ones real templates produce (vendor/llama.cpp/models/templates, LLAMA_NATIVE_FUZZ_TEMPLATES) for a
// request with tools; the input's first byte picks one.
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../native/chat_request.h"
#include "fuzz_common.h"

static std::vector<common_chat_parser_params> g_parsers;

static const char* kTemplates[] = {"Qwen-Qwen3-0.6B.jinja",
                                   "meta-llama-Llama-3.1-8B-Instruct.jinja",
                                   "openai-gpt-oss-120b.jinja",
                                   "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
                                   "Mistral-Small-3.2-24B-Instruct-2506.jinja",
                                   "ibm-granite-granite-3.3-2B-Instruct.jinja",
                                   "meetkai-functionary-medium-v3.2.jinja",
                                   "Qwen3-Coder.jinja",
                                   "moonshotai-Kimi-K2.jinja",
                                   "google-gemma-4-31B-it.jinja",
                                   "MiniMax-M2.jinja",
                                   "GLM-4.6.jinja"};

static const char* kRequest =
    R"({"messages":[{"role":"user","content":"U"}],"tools":[{"type":"function","function":{"name":"get_weather",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"},"n":{"type":"integer"}},"required":["city"]}}}]})";

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  FuzzQuietCommonLog();
  const char* dir = std::getenv("LLAMA_NATIVE_FUZZ_TEMPLATES");
  for (const char* name : kTemplates) {
    std::ifstream f(std::string(dir ? dir : "vendor/llama.cpp/models/templates") + "/" + name);
    if (!f) continue;
    std::stringstream ss;
    ss << f.rdbuf();
    try {
      auto tmpls = common_chat_templates_init(nullptr, ss.str(), "<s>", "</s>");
      for (const char* effort : {"", "off"}) {
        std::string req = kRequest;
        if (*effort) req = req.substr(0, req.size() - 1) + R"(,"chat_template_kwargs":{"enable_thinking":false}})";
        auto r = llama_native::chat::ApplyRequest(tmpls.get(), common_chat_templates_support_enable_thinking(tmpls.get()), req);
        common_chat_parser_params pp(r.params);
        pp.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
        pp.parse_tool_calls = r.parse_tool_calls;
        if (!r.params.parser.empty()) pp.parser.load(r.params.parser);
        g_parsers.push_back(std::move(pp));
      }
    } catch (const std::exception&) {
    }
  }
  if (g_parsers.empty()) std::abort();  // misconfigured: no template found
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const common_chat_parser_params& pp = g_parsers[data[0] % g_parsers.size()];
  const uint8_t cut_byte = data[1];
  if (!FuzzValidUtf8(data + 2, size - 2)) return 0;  // model output reaches the parser as UTF-8-whole text
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
  common_chat_msg prev;
  const size_t step = 1 + cut_byte % 16;
  for (size_t end = 0; end <= text.size(); end += step) {
    for (bool partial : {true, false}) {
      if (!partial && end != text.size() && end + step <= text.size()) continue;
      try {
        auto msg = common_chat_parse(text.substr(0, end), partial, pp);
        if (!msg.empty()) {
          common_chat_msg_diff::compute_diffs(prev, msg);
          prev = msg;
        }
      } catch (const std::exception&) {
      }
    }
  }
  return 0;
}
