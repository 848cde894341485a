// Model: wraps llama_model (and its llama_vocab). Loaded on a thread of its own; tokenization
// helpers run synchronously (they are pure CPU work on the vocabulary and fast).
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "rpc.h"

namespace llama_native {

// Shared by the Model wrapper and every Context created from it, so the weights outlive all users
// regardless of the order in which JS disposes or the GC finalizes them.
struct ModelHandle {
  llama_model* model = nullptr;
  const llama_vocab* vocab = nullptr;
  int32_t n_vocab = 0;
  bool vocab_only = false;
  std::string path;
  std::vector<RpcEndpoint> rpc;  // the RPC workers that hold part of the model (native/rpc.h)
  ~ModelHandle();
};
using ModelHandlePtr = std::shared_ptr<ModelHandle>;

class Model : public Wrapped<Model> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Value Load(const Napi::CallbackInfo& info);  // (path, options, abortFlag?, onProgress?)
  static Napi::Object NewInstance(Napi::Env env, ModelHandlePtr handle);

  explicit Model(const Napi::CallbackInfo& info);
  ~Model() override;

  // The live handle, or a DisposedError.
  const ModelHandlePtr& Handle(Napi::Env env) const;

 private:
  Napi::Value Tokenize(const Napi::CallbackInfo& info);
  Napi::Value Detokenize(const Napi::CallbackInfo& info);
  Napi::Value TokenToPiece(const Napi::CallbackInfo& info);
  Napi::Value IsEog(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Vocab(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);

  void ReleaseHandle(Napi::Env env);

  ModelHandlePtr handle_;
  int64_t external_bytes_ = 0;
};

}  // namespace llama_native
