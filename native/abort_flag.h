// AbortFlag: a cancellation flag that JS raises and native work polls (every token, and inside
// llama_decode through llama_set_abort_callback, and between load progress steps).
#pragma once

#include <napi.h>

#include "common.h"

namespace llama_native {

class AbortFlag : public Wrapped<AbortFlag> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit AbortFlag(const Napi::CallbackInfo& info);

  // The flag of an AbortFlag argument, or a fresh never-raised one when the argument is undefined.
  static AbortFlagPtr FromArg(Napi::Env env, Napi::Value value);

 private:
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value GetAborted(const Napi::CallbackInfo& info);
  AbortFlagPtr flag_;
};

}  // namespace llama_native
