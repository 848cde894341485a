#include "model_devices.h"

#include <map>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"
// llama.cpp's internal model class: its public C API does not say which device holds which layer.
// The vendored revision is pinned, and libllama exports these members (the prebuild links them).
#include "../vendor/llama.cpp/src/llama-model.h"

namespace llama_native {

namespace {

struct Placement {
  ggml_backend_dev_t dev = nullptr;
  int layers = 0;
  bool output = false;
  double bytes = 0;
};

const char* TypeName(ggml_backend_dev_t dev) {
  switch (ggml_backend_dev_type(dev)) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    case GGML_BACKEND_DEVICE_TYPE_ACCEL: return "accel";
    default: return "other";
  }
}

}  // namespace

Napi::Array ModelDevices(Napi::Env env, const llama_model* model) {
  std::vector<Placement> order;
  auto at = [&order](ggml_backend_dev_t dev) -> Placement& {
    for (auto& p : order) {
      if (p.dev == dev) return p;
    }
    order.push_back(Placement{dev});
    return order.back();
  };
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  try {
    // A vocab-only load has no layers and no buffers: every list below is then empty.
    const int32_t n_layer = llama_model_n_layer(model);
    if (model->hparams.vocab_only == false && n_layer > 0) {
      for (int32_t il = 0; il < n_layer; il++) {
        ggml_backend_dev_t dev = model->dev_layer(il);
        if (dev != nullptr) at(dev).layers++;
      }
      if (ggml_backend_dev_t out = model->dev_output()) at(out).output = true;
    }
    for (const auto& [buft, size] : model->memory_breakdown()) {
      // Host buffer types that belong to no device (the mmap'd file: "CPU_Mapped") are the CPU's memory.
      ggml_backend_dev_t dev = ggml_backend_buft_get_device(buft);
      if (dev == nullptr) dev = cpu;
      if (dev != nullptr) at(dev).bytes += static_cast<double>(size);
    }
  } catch (const std::exception&) {
    order.clear();  // llama.cpp's containers throw on an index they lack: report nothing rather than half
  }
  Napi::Array out = Napi::Array::New(env, order.size());
  for (size_t i = 0; i < order.size(); i++) {
    const Placement& p = order[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", ggml_backend_dev_name(p.dev));
    o.Set("description", ggml_backend_dev_description(p.dev));
    o.Set("type", TypeName(p.dev));
    o.Set("layers", static_cast<double>(p.layers));
    o.Set("output", p.output);
    o.Set("bytes", p.bytes);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace llama_native
