#include "chat_parser.h"

#include <stdexcept>

#include "json-schema-to-grammar.h"

namespace llama_native {

namespace {

Napi::Object ToolCallToJs(Napi::Env env, const common_chat_tool_call& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", c.name);
  o.Set("arguments", c.arguments);
  o.Set("id", c.id);
  return o;
}

Napi::Object MessageToJs(Napi::Env env, const common_chat_msg& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("role", m.role.empty() ? std::string("assistant") : m.role);
  o.Set("content", m.content);
  o.Set("reasoningContent", m.reasoning_content);
  Napi::Array calls = Napi::Array::New(env, m.tool_calls.size());
  for (size_t i = 0; i < m.tool_calls.size(); i++) calls.Set(static_cast<uint32_t>(i), ToolCallToJs(env, m.tool_calls[i]));
  o.Set("toolCalls", calls);
  return o;
}

common_reasoning_format ReasoningFormat(Napi::Env env, const std::string& name) {
  if (name == "none") return COMMON_REASONING_FORMAT_NONE;
  if (name == "auto") return COMMON_REASONING_FORMAT_AUTO;
  if (name == "deepseek") return COMMON_REASONING_FORMAT_DEEPSEEK;
  if (name == "deepseek-legacy") return COMMON_REASONING_FORMAT_DEEPSEEK_LEGACY;
  Throw(env, ErrorKind::Range, "reasoningFormat must be none, auto, deepseek or deepseek-legacy; got '" + name + "'");
}

const char* const kParserOptions[] = {
    "format",         "parser", "generationPrompt", "reasoningFormat", "reasoningInContent", "parseToolCalls",
    "isContinuation", "echo",   "toolCallIdSeed"};

}  // namespace

Napi::Function ChatParser::Init(Napi::Env env) {
  return DefineClass(env, "ChatParser",
                     {
                         Method<&ChatParser::Update>("update"),
                         InstanceAccessor<&ChatParser::GetMessage>("message"),
                     });
}

ChatParser::ChatParser(const Napi::CallbackInfo& info) : Wrapped<ChatParser>(info) {
  Napi::Env env = info.Env();
  Guarded(env, [&]() -> Napi::Value {
    Napi::Object o = ArgObject(info, 0, "options");
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).ToString().Utf8Value();
      bool known = false;
      for (const char* name : kParserOptions) known = known || k == name;
      if (!known) Throw(env, ErrorKind::Type, "ChatParser: unknown option '" + k + "'");
    }
    params_.format = static_cast<common_chat_format>(OptInt(o, "format", 0, 0, COMMON_CHAT_FORMAT_COUNT - 1));
    params_.generation_prompt = OptString(o, "generationPrompt", "");
    params_.reasoning_format = ReasoningFormat(env, OptString(o, "reasoningFormat", "none"));
    params_.reasoning_in_content = OptBool(o, "reasoningInContent", false);
    params_.parse_tool_calls = OptBool(o, "parseToolCalls", true);
    params_.is_continuation = OptBool(o, "isContinuation", false);
    params_.echo = OptBool(o, "echo", false);
    std::string parser = OptString(o, "parser", "");
    if (!parser.empty()) {
      try {
        params_.parser.load(parser);
      } catch (const std::exception& e) {
        Throw(env, ErrorKind::Generic, std::string("the chat parser definition does not load: ") + e.what());
      }
    }
    int64_t seed = OptInt(o, "toolCallIdSeed", -1, -1, 4294967295LL);
    rng_.seed(seed >= 0 ? static_cast<uint32_t>(seed) : std::random_device{}());
    // llama-server: a continuation starts from the parse of the empty output, so that the prefill
    // is not sent as a delta
    if (params_.is_continuation && !params_.echo) msg_ = common_chat_parse("", true, params_);
    return env.Undefined();
  });
  TagObject(env, info.This().As<Napi::Object>(), kChatParserTag);
}

Napi::Value ChatParser::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<ChatParser>(info, kChatParserTag, "ChatParser");
  std::string text = ArgString(info, 0, "text");
  if (info.Length() < 2 || !info[1].IsBoolean()) Throw(env, ErrorKind::Type, "isPartial must be a boolean");
  bool is_partial = info[1].As<Napi::Boolean>().Value();

  common_chat_msg prev = self->msg_;
  common_chat_msg next;
  try {
    next = common_chat_parse(text, is_partial, self->params_);
  } catch (const std::exception& e) {
    Throw(env, ErrorKind::Generic, e.what());
  }
  std::vector<common_chat_msg_diff> diffs;
  if (!next.empty()) {
    // random ids as llama-server's gen_tool_call_id (32 alphanumerics), from this parser's generator
    static const std::string kAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    next.set_tool_call_ids(self->tool_call_ids_, [self] {
      std::string id(32, ' ');
      for (auto& c : id) c = kAlnum[self->rng_() % kAlnum.size()];
      return id;
    });
    self->msg_ = next;
    diffs = common_chat_msg_diff::compute_diffs(prev, self->msg_);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("message", MessageToJs(env, self->msg_));
  Napi::Array arr = Napi::Array::New(env, diffs.size());
  for (size_t i = 0; i < diffs.size(); i++) {
    const auto& d = diffs[i];
    Napi::Object dobj = Napi::Object::New(env);
    dobj.Set("reasoningContentDelta", d.reasoning_content_delta);
    dobj.Set("contentDelta", d.content_delta);
    dobj.Set("toolCallIndex", d.tool_call_index == std::string::npos ? -1.0 : static_cast<double>(d.tool_call_index));
    dobj.Set("toolCallDelta", ToolCallToJs(env, d.tool_call_delta));
    arr.Set(static_cast<uint32_t>(i), dobj);
  }
  out.Set("diffs", arr);
  return out;
}

Napi::Value ChatParser::GetMessage(const Napi::CallbackInfo& info) { return MessageToJs(info.Env(), msg_); }

Napi::Value JsonSchemaToGrammar(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string schema_text = ArgString(info, 0, "schema");
  bool force_gbnf = false;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsBoolean()) Throw(env, ErrorKind::Type, "forceGbnf must be a boolean");
    force_gbnf = info[1].As<Napi::Boolean>().Value();
  }
  common_json schema = common_json::parse_no_throw(schema_text);
  if (schema.is_discarded()) Throw(env, ErrorKind::Type, "schema is not valid JSON");
  try {
    return Napi::String::New(env, json_schema_to_grammar(schema, force_gbnf));
  } catch (const std::exception& e) {
    Throw(env, ErrorKind::Generic, std::string("llama.cpp cannot convert this JSON schema: ") + e.what());
  }
}

}  // namespace llama_native
