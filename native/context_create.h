// Context creation: reads Context.create's params (native/params.h) and builds the llama_context,
// its batch and its thread pools on a thread of its own.
#pragma once

#include <napi.h>

namespace llama_native {

// (model, params) → Promise<Context>
Napi::Value CreateContext(const Napi::CallbackInfo& info);

}  // namespace llama_native
