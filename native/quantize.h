// quantize(input, output, options): llama_model_quantize on a thread of its own.
#pragma once

#include <napi.h>

namespace llama_native {

Napi::Value Quantize(const Napi::CallbackInfo& info);

}  // namespace llama_native
