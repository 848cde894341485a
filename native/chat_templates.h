// ChatTemplates: llama.cpp's common_chat_templates (a model's Jinja chat templates, parsed once).
// create() parses on a thread of its own; apply() renders a llama-server request on another
// (chat_request.h). The parsed templates are shared with every apply() in flight, so dispose() is
// safe while one runs: the last user frees them.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>

#include "chat.h"
#include "common.h"

namespace llama_native {

struct ChatTemplatesState {
  common_chat_templates_ptr tmpls;
  std::map<std::string, bool> caps;
  bool supports_thinking = false;
  bool explicit_template = false;
};
using ChatTemplatesStatePtr = std::shared_ptr<const ChatTemplatesState>;

class ChatTemplates : public Wrapped<ChatTemplates> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Value Create(const Napi::CallbackInfo& info);  // (model | null, { template?, bosToken?, eosToken? })
  static Napi::Object NewInstance(Napi::Env env, ChatTemplatesStatePtr state);

  explicit ChatTemplates(const Napi::CallbackInfo& info);

 private:
  Napi::Value Apply(const Napi::CallbackInfo& info);
  Napi::Value Caps(const Napi::CallbackInfo& info);
  Napi::Value Source(const Napi::CallbackInfo& info);
  Napi::Value GetSupportsThinking(const Napi::CallbackInfo& info);
  Napi::Value GetExplicit(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);

  const ChatTemplatesState& State(Napi::Env env) const;

  ChatTemplatesStatePtr state_;
};

}  // namespace llama_native
