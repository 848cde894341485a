#include "lora.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "addon.h"
#include "context.h"
#include "log.h"
#include "task.h"

namespace llama_native {

const napi_type_tag kLoraTag = {0x6c6c616d615f6e61ULL, 0x4c6f726100000004ULL};

namespace {

// llama_adapter_lora_init and _free insert into and erase from the model's set of adapters (a
// std::set); two threads doing so at once would race.
std::mutex g_lora_mutex;

class LoraLoadTask : public ThreadTask {
 public:
  LoraLoadTask(ModelHandlePtr model, std::string path) : ThreadTask(nullptr), model_(std::move(model)), path_(std::move(path)) {}

 protected:
  void Execute() override {
    LogCapture capture;
    llama_adapter_lora* adapter;
    {
      std::lock_guard<std::mutex> lk(g_lora_mutex);
      adapter = llama_adapter_lora_init(model_->model, path_.c_str());
    }
    if (adapter == nullptr) {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Load, "failed to load LoRA adapter " + path_ + (why.empty() ? "" : ": " + why));
    }
    handle_ = std::make_shared<LoraHandle>();
    handle_->model = model_;
    handle_->adapter = adapter;
  }
  Napi::Value Result(Napi::Env env) override { return LoraAdapter::NewInstance(env, handle_); }

 private:
  ModelHandlePtr model_;
  std::string path_;
  LoraHandlePtr handle_;
};

}  // namespace

LoraHandle::~LoraHandle() {
  if (adapter != nullptr) {
    std::lock_guard<std::mutex> lk(g_lora_mutex);
    llama_adapter_lora_free(adapter);
  }
}

Napi::Function LoraAdapter::Init(Napi::Env env) {
  return DefineClass(env, "LoraAdapter",
                     {
                         Method<&LoraAdapter::Dispose>("dispose"),
                         Method<&LoraAdapter::Meta>("meta"),
                         InstanceAccessor<&LoraAdapter::GetDisposed>("disposed"),
                         Static<&LoraAdapter::Load>("load"),
                     });
}

Napi::Value LoraAdapter::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !HasTag(env, info[0], kModelTag)) Throw(env, ErrorKind::Type, "model must be a Model");
  ModelHandlePtr model = Model::Unwrap(info[0].As<Napi::Object>())->Handle(env);
  if (model->vocab_only) Throw(env, ErrorKind::Generic, "this model was loaded with vocabOnly: true and has no weights to adapt");
  std::string path = ArgString(info, 1, "path");
  return ThreadTask::Start(env, new LoraLoadTask(std::move(model), std::move(path)), Napi::Function());
}

Napi::Object LoraAdapter::NewInstance(Napi::Env env, LoraHandlePtr handle) {
  auto* holder = new LoraHandlePtr(std::move(handle));
  auto ext = Napi::External<LoraHandlePtr>::New(env, holder, [](Napi::Env, LoraHandlePtr* p) { delete p; });
  return GetAddonData(env)->lora_ctor.New({ext});
}

LoraAdapter::LoraAdapter(const Napi::CallbackInfo& info) : Wrapped<LoraAdapter>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Throw(env, ErrorKind::Type, "LoraAdapter cannot be constructed directly; use model.loadLora()");
  }
  handle_ = std::move(*info[0].As<Napi::External<LoraHandlePtr>>().Data());
  TagObject(env, info.This().As<Napi::Object>(), kLoraTag);
}

LoraHandlePtr LoraAdapter::FromValue(Napi::Env env, Napi::Value value, const char* name) {
  if (!HasTag(env, value, kLoraTag)) Throw(env, ErrorKind::Type, std::string(name) + " must be a LoraAdapter");
  LoraAdapter* a = LoraAdapter::Unwrap(value.As<Napi::Object>());
  if (!a->handle_) ThrowDisposed(env, "LoRA adapter");
  return a->handle_;
}

// Contexts that apply the adapter keep it alive; it is freed when the last of them lets go.
Napi::Value LoraAdapter::Dispose(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<LoraAdapter>(info, kLoraTag, "LoraAdapter");
  self->handle_.reset();
  return info.Env().Undefined();
}

Napi::Value LoraAdapter::GetDisposed(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<LoraAdapter>(info, kLoraTag, "LoraAdapter");
  return Napi::Boolean::New(info.Env(), !self->handle_);
}

// The adapter's GGUF metadata, as llama.cpp read it (string values).
Napi::Value LoraAdapter::Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<LoraAdapter>(info, kLoraTag, "LoraAdapter");
  if (!self->handle_) ThrowDisposed(env, "LoRA adapter");
  const llama_adapter_lora* a = self->handle_->adapter;
  Napi::Object o = Napi::Object::New(env);
  int32_t n = llama_adapter_meta_count(a);
  std::vector<char> key(256), val(4096);
  for (int32_t i = 0; i < n; i++) {
    if (llama_adapter_meta_key_by_index(a, i, key.data(), key.size()) < 0) continue;
    if (llama_adapter_meta_val_str_by_index(a, i, val.data(), val.size()) < 0) continue;
    o.Set(key.data(), val.data());
  }
  return o;
}

// setLoras([[adapter, scale], ...]): the adapters this context applies from its next decode on.
// Refused while any work runs on the context. A different set changes the model, so what the KV
// cache holds was computed with other weights: every sequence's cache is cleared.
Napi::Value Context::SetLoras(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
  if (info.Length() < 1 || !info[0].IsArray()) Throw(env, ErrorKind::Type, "loras must be an array of [adapter, scale] pairs");
  Napi::Array arr = info[0].As<Napi::Array>();
  LoraList list;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsArray() || item.As<Napi::Array>().Length() != 2)
      Throw(env, ErrorKind::Type, "loras must be an array of [adapter, scale] pairs");
    Napi::Array pair = item.As<Napi::Array>();
    LoraHandlePtr lora = LoraAdapter::FromValue(env, pair.Get(0u), "adapter");
    if (lora->model != h.model) Throw(env, ErrorKind::Generic, "this LoRA adapter was loaded for another model");
    Napi::Value sv = pair.Get(1u);
    double scale = sv.IsNumber() ? sv.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(scale) || std::fabs(scale) > 1e6)
      Throw(env, ErrorKind::Range, "a LoRA scale must be a finite number in [-1e6, 1e6]");
    for (const auto& [other, s] : list) {
      if (other == lora) Throw(env, ErrorKind::Generic, "the same LoRA adapter is listed twice");
    }
    list.emplace_back(std::move(lora), static_cast<float>(scale));
  }
  ContextHandlePtr hp = self->Claim(env, "change the LoRA adapters");
  std::unique_lock<std::mutex> lk;
  if (h.engine) lk = std::unique_lock<std::mutex>(h.engine->mutex());
  bool idle = !h.engine || h.engine->IdleLocked();
  if (idle) {
    auto key = [](const LoraList& l) {
      std::vector<std::pair<llama_adapter_lora*, float>> k;
      for (const auto& [a, s] : l) {
        if (s != 0.0f) k.emplace_back(a->adapter, s);
      }
      std::sort(k.begin(), k.end());
      return k;
    };
    bool changed = key(list) != key(h.loras);
    std::vector<llama_adapter_lora*> ptrs;
    std::vector<float> scales;
    for (const auto& [a, s] : list) {
      ptrs.push_back(a->adapter);
      scales.push_back(s);
    }
    llama_set_adapters_lora(h.ctx, ptrs.empty() ? nullptr : ptrs.data(), ptrs.size(), scales.empty() ? nullptr : scales.data());
    h.loras = std::move(list);  // keeps the adapters alive while llama.cpp points at them
    if (changed) {
      llama_memory_clear(llama_get_memory(h.ctx), true);
      for (auto& t : h.seq_tokens) t.clear();
    }
  }
  h.busy.store(false);
  if (!idle) Throw(env, ErrorKind::Generic, "cannot change the LoRA adapters while a generation is running on this context");
  return env.Undefined();
}

}  // namespace llama_native
