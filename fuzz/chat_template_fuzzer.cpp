// libFuzzer harness: an untrusted chat template (it comes from the model file) and a chat request,
// the way llama-native runs them: common_chat_templates_init (which renders the template several
// times to find its capabilities), then the request parsed as llama-server parses it and applied
// (native/chat_request.cpp), both under the render deadline ChatTemplates uses.
// Input: template source, a NUL byte, the request JSON (without the NUL: a fixed request with tools).
// Each phase runs under a 100 ms deadline rather than llama-native's 2 s: the harness hunts crashes,
// and inputs that spin until the deadline (test/model/chat-native.test.ts proves the 2 s bound on
// hostile templates) would otherwise hold it at under one input per second.
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "../native/chat_request.h"
#include "fuzz_common.h"

static const char* kDefaultRequest =
    R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"U"},)"
    R"({"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},)"
    R"({"role":"tool","tool_call_id":"c1","content":"R"},{"role":"user","content":"again"}],)"
    R"("tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}}]})";

static constexpr int kPhaseMs = 100;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzQuietInit();
  FuzzQuietCommonLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!FuzzValidUtf8(data, size)) return 0;  // JavaScript strings reach llama.cpp as UTF-8
  const char* p = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(p, 0, size);
  const size_t tlen = nul ? static_cast<size_t>(static_cast<const char*>(nul) - p) : size;
  const std::string tmpl(p, tlen);
  const std::string request = nul ? std::string(p + tlen + 1, size - tlen - 1) : std::string(kDefaultRequest);
  if (tmpl.empty()) return 0;  // ChatTemplates.create needs a template without a model
  // llama-native turns C++ exceptions into JS errors; only a crash, a hang or a blow-up counts
  try {
    llama_native::chat::RenderDeadline deadline(kPhaseMs);
    auto tmpls = common_chat_templates_init(nullptr, tmpl, "<s>", "</s>");
    bool thinking = false;
    try {
      thinking = common_chat_templates_support_enable_thinking(tmpls.get());
    } catch (const std::exception&) {
    }
    llama_native::chat::RenderDeadline deadline2(kPhaseMs);
    llama_native::chat::ApplyRequest(tmpls.get(), thinking, request);
  } catch (const std::exception&) {
  }
  return 0;
}
