#include "chat_templates.h"

#include <utility>

#include "addon.h"
#include "chat_request.h"
#include "model.h"
#include "task.h"

namespace llama_native {

namespace {

class CreateTask : public ThreadTask {
 public:
  CreateTask(ModelHandlePtr model, std::string tmpl, std::string bos, std::string eos)
      : ThreadTask(nullptr), model_(std::move(model)), tmpl_(std::move(tmpl)), bos_(std::move(bos)), eos_(std::move(eos)) {}

 protected:
  void Execute() override {
    auto state = std::make_shared<ChatTemplatesState>();
    chat::RenderDeadline deadline;
    try {
      state->tmpls = common_chat_templates_init(model_ ? model_->model : nullptr, tmpl_, bos_, eos_);
    } catch (const std::exception& e) {
      throw NativeError(ErrorKind::Generic, std::string("the chat template does not parse: ") + e.what());
    }
    state->caps = common_chat_templates_get_caps(state->tmpls.get());
    state->explicit_template = common_chat_templates_was_explicit(state->tmpls.get());
    try {
      state->supports_thinking = common_chat_templates_support_enable_thinking(state->tmpls.get());
    } catch (const std::exception&) {
      // a template that cannot render a plain user turn: apply() reports its error
      state->supports_thinking = false;
    }
    state_ = std::move(state);
    model_.reset();
  }
  Napi::Value Result(Napi::Env env) override { return ChatTemplates::NewInstance(env, std::move(state_)); }

 private:
  ModelHandlePtr model_;
  std::string tmpl_, bos_, eos_;
  ChatTemplatesStatePtr state_;
};

class ApplyTask : public ThreadTask {
 public:
  ApplyTask(ChatTemplatesStatePtr state, std::string request)
      : ThreadTask(nullptr), state_(std::move(state)), request_(std::move(request)) {}

 protected:
  void Execute() override {
    chat::RenderDeadline deadline;
    try {
      result_ = chat::ApplyRequest(state_->tmpls.get(), state_->supports_thinking, request_);
    } catch (const NativeError&) {
      throw;
    } catch (const std::exception& e) {
      throw NativeError(ErrorKind::Generic, e.what());
    }
    state_.reset();
  }
  Napi::Value Result(Napi::Env env) override;

 private:
  ChatTemplatesStatePtr state_;
  std::string request_;
  chat::ApplyResult result_;
};

Napi::Array Strings(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

const char* TriggerType(common_grammar_trigger_type t) {
  switch (t) {
    case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN: return "token";
    case COMMON_GRAMMAR_TRIGGER_TYPE_WORD: return "word";
    case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN: return "pattern";
    case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: return "patternFull";
  }
  return "word";
}

Napi::Value ApplyTask::Result(Napi::Env env) {
  const common_chat_params& p = result_.params;
  Napi::Object o = Napi::Object::New(env);
  o.Set("prompt", p.prompt);
  o.Set("format", common_chat_format_name(p.format));
  o.Set("formatId", static_cast<double>(p.format));
  o.Set("grammar", p.grammar);
  o.Set("grammarLazy", p.grammar_lazy);
  Napi::Array triggers = Napi::Array::New(env, p.grammar_triggers.size());
  for (size_t i = 0; i < p.grammar_triggers.size(); i++) {
    const auto& t = p.grammar_triggers[i];
    Napi::Object to = Napi::Object::New(env);
    to.Set("type", TriggerType(t.type));
    to.Set("value", t.value);
    if (t.type == COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN) to.Set("token", static_cast<double>(t.token));
    triggers.Set(static_cast<uint32_t>(i), to);
  }
  o.Set("grammarTriggers", triggers);
  o.Set("preservedTokens", Strings(env, p.preserved_tokens));
  o.Set("additionalStops", Strings(env, p.additional_stops));
  o.Set("generationPrompt", p.generation_prompt);
  o.Set("parser", p.parser);
  o.Set("supportsThinking", p.supports_thinking);
  o.Set("thinkingStartTag", p.thinking_start_tag);
  o.Set("thinkingEndTags", Strings(env, p.thinking_end_tags));
  Napi::Array delims = Napi::Array::New(env, p.message_delimiters.delimiters.size());
  for (size_t i = 0; i < p.message_delimiters.delimiters.size(); i++) {
    const auto& d = p.message_delimiters.delimiters[i];
    Napi::Object dobj = Napi::Object::New(env);
    dobj.Set("role", common_chat_role_to_string(d.role));
    dobj.Set("delimiter", d.delimiter);
    delims.Set(static_cast<uint32_t>(i), dobj);
  }
  o.Set("messageDelimiters", delims);
  o.Set("reasoningFormat", result_.reasoning_format);
  o.Set("enableThinking", result_.enable_thinking);
  o.Set("parallelToolCalls", result_.parallel_tool_calls);
  o.Set("parseToolCalls", result_.parse_tool_calls);
  o.Set("isContinuation", result_.is_continuation);
  o.Set("addGenerationPrompt", result_.add_generation_prompt);
  return o;
}

}  // namespace

Napi::Function ChatTemplates::Init(Napi::Env env) {
  return DefineClass(env, "ChatTemplates",
                     {
                         Method<&ChatTemplates::Apply>("apply"),
                         Method<&ChatTemplates::Caps>("caps"),
                         Method<&ChatTemplates::Source>("source"),
                         Method<&ChatTemplates::Dispose>("dispose"),
                         InstanceAccessor<&ChatTemplates::GetSupportsThinking>("supportsThinking"),
                         InstanceAccessor<&ChatTemplates::GetExplicit>("explicit"),
                         InstanceAccessor<&ChatTemplates::GetDisposed>("disposed"),
                         Static<&ChatTemplates::Create>("create"),
                     });
}

Napi::Value ChatTemplates::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandlePtr model;
  if (info.Length() > 0 && !info[0].IsNull() && !info[0].IsUndefined()) {
    if (!HasTag(env, info[0], kModelTag)) Throw(env, ErrorKind::Type, "model must be a Model or null");
    model = Model::Unwrap(info[0].As<Napi::Object>())->Handle(env);
  }
  std::string tmpl, bos, eos;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    Napi::Object o = ArgObject(info, 1, "options");
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).ToString().Utf8Value();
      if (k != "template" && k != "bosToken" && k != "eosToken")
        Throw(env, ErrorKind::Type, "ChatTemplates.create: unknown option '" + k + "'");
    }
    tmpl = OptString(o, "template", "");
    bos = OptString(o, "bosToken", "");
    eos = OptString(o, "eosToken", "");
  }
  if (!model && tmpl.empty()) Throw(env, ErrorKind::Type, "ChatTemplates.create: a template is required without a model");
  if (model && (!bos.empty() || !eos.empty())) {
    Throw(env, ErrorKind::Type, "ChatTemplates.create: bosToken and eosToken come from the model's vocabulary when a model is given");
  }
  auto* task = new CreateTask(std::move(model), std::move(tmpl), std::move(bos), std::move(eos));
  return ThreadTask::Start(env, task, Napi::Function());
}

Napi::Object ChatTemplates::NewInstance(Napi::Env env, ChatTemplatesStatePtr state) {
  auto* holder = new ChatTemplatesStatePtr(std::move(state));
  auto ext = Napi::External<ChatTemplatesStatePtr>::New(env, holder, [](Napi::Env, ChatTemplatesStatePtr* p) { delete p; });
  return GetAddonData(env)->chat_templates_ctor.New({ext});
}

ChatTemplates::ChatTemplates(const Napi::CallbackInfo& info) : Wrapped<ChatTemplates>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Throw(env, ErrorKind::Type, "ChatTemplates cannot be constructed directly; use ChatTemplates.create()");
  }
  state_ = std::move(*info[0].As<Napi::External<ChatTemplatesStatePtr>>().Data());
  TagObject(env, info.This().As<Napi::Object>(), kChatTemplatesTag);
}

const ChatTemplatesState& ChatTemplates::State(Napi::Env env) const {
  if (!state_) ThrowDisposed(env, "chat templates");
  return *state_;
}

Napi::Value ChatTemplates::Apply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<ChatTemplates>(info, kChatTemplatesTag, "ChatTemplates");
  self->State(env);
  std::string request = ArgString(info, 0, "request");
  return ThreadTask::Start(env, new ApplyTask(self->state_, std::move(request)), Napi::Function());
}

Napi::Value ChatTemplates::Caps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<ChatTemplates>(info, kChatTemplatesTag, "ChatTemplates");
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : self->State(env).caps) o.Set(k, v);
  return o;
}

Napi::Value ChatTemplates::Source(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<ChatTemplates>(info, kChatTemplatesTag, "ChatTemplates");
  const ChatTemplatesState& s = self->State(env);
  std::string variant;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    variant = ArgString(info, 0, "variant");
    if (variant != "tool_use") Throw(env, ErrorKind::Range, "variant must be \"tool_use\" or undefined");
  }
  std::string src = common_chat_templates_source(s.tmpls.get(), variant);
  if (src.empty()) return env.Undefined();
  return Napi::String::New(env, src);
}

Napi::Value ChatTemplates::GetSupportsThinking(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), State(info.Env()).supports_thinking);
}

Napi::Value ChatTemplates::GetExplicit(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), State(info.Env()).explicit_template);
}

Napi::Value ChatTemplates::Dispose(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<ChatTemplates>(info, kChatTemplatesTag, "ChatTemplates");
  self->state_.reset();  // an apply() in flight holds its own reference
  return info.Env().Undefined();
}

Napi::Value ChatTemplates::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !state_); }

}  // namespace llama_native
