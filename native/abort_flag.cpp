#include "abort_flag.h"

namespace llama_native {

Napi::Function AbortFlag::Init(Napi::Env env) {
  return DefineClass(env, "AbortFlag", {Method<&AbortFlag::Abort>("abort"), InstanceAccessor<&AbortFlag::GetAborted>("aborted")});
}

AbortFlag::AbortFlag(const Napi::CallbackInfo& info) : Wrapped<AbortFlag>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {
  TagObject(info.Env(), info.This().As<Napi::Object>(), kAbortFlagTag);
}

Napi::Value AbortFlag::Abort(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<AbortFlag>(info, kAbortFlagTag, "AbortFlag");
  self->flag_->store(true);
  return info.Env().Undefined();
}

Napi::Value AbortFlag::GetAborted(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<AbortFlag>(info, kAbortFlagTag, "AbortFlag");
  return Napi::Boolean::New(info.Env(), self->flag_->load());
}

AbortFlagPtr AbortFlag::FromArg(Napi::Env env, Napi::Value value) {
  if (value.IsUndefined() || value.IsNull()) return std::make_shared<std::atomic<bool>>(false);
  if (!HasTag(env, value, kAbortFlagTag)) Throw(env, ErrorKind::Type, "abort must be an AbortFlag");
  return Unwrap(value.As<Napi::Object>())->flag_;
}

}  // namespace llama_native
