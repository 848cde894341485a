// Which ggml device holds which part of a loaded model (model.info.devices).
#pragma once

#include <napi.h>

struct llama_model;

namespace llama_native {

// One entry per device that holds a repeating layer, the output layer or model weights, in the order
// llama.cpp assigns layers (the devices of layer 0 first): { name, description, type, layers, output,
// bytes }. Read from llama.cpp's own record of the split (llama_model::dev_layer, dev_output and
// memory_breakdown), so it is what llama.cpp decided, never a recomputation of its rules.
Napi::Array ModelDevices(Napi::Env env, const llama_model* model);

}  // namespace llama_native
