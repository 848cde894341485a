#include "model.h"

#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>
#include <cmath>

#include "abort_flag.h"
#include "addon.h"
#include "exit_gate.h"
#include "log.h"
#include "model_devices.h"
#include "params.h"
#include "rpc.h"
#include "task.h"

namespace llama_native {

ModelHandle::~ModelHandle() {
  if (model != nullptr) llama_model_free(model);
#if defined(__GLIBC__)
  // A model frees many allocations at once (vocabulary tables, tensor metadata, buffers below the
  // mmap threshold); hand the freed heap pages back to the system, or a server that swaps models
  // keeps their high-water mark as RSS.
  malloc_trim(0);
#endif
}

namespace {

class LoadTask : public ThreadTask {
 public:
  LoadTask(AbortFlagPtr abort, std::string path, llama_model_params params, bool report_progress, std::vector<std::string> rpc_servers,
           std::vector<double> tensor_split)
      : ThreadTask(std::move(abort)),
        path_(std::move(path)),
        params_(params),
        report_progress_(report_progress),
        rpc_servers_(std::move(rpc_servers)),
        tensor_split_in_(std::move(tensor_split)) {}

 protected:
  void Execute() override {
    params_.progress_callback = &LoadTask::Progress;
    params_.progress_callback_user_data = this;
    LogCapture capture;
    SelectDevices();
    llama_model* model = llama_model_load_from_file(path_.c_str(), params_);
    if (model != nullptr && !rpc_.empty()) {
      // a worker that died while the weights were sent leaves a model with holes: refuse it
      std::string lost = RpcLostWorker(rpc_);
      if (!lost.empty()) {
        llama_model_free(model);
        throw NativeError(ErrorKind::Load, "failed to load model from " + path_ + ": RPC server " + lost + " was lost during the load");
      }
    }
    if (model == nullptr) {
      if (Aborted()) throw NativeError(ErrorKind::Aborted, "model load was aborted");
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Load, "failed to load model from " + path_ + (why.empty() ? "" : ": " + why));
    }
    handle_ = std::make_shared<ModelHandle>();
    handle_->model = model;
    handle_->vocab = llama_model_get_vocab(model);
    handle_->n_vocab = llama_vocab_n_tokens(handle_->vocab);
    handle_->vocab_only = params_.vocab_only;
    handle_->path = path_;
    handle_->rpc = rpc_;
    if (Aborted()) {  // aborted after the last progress step: honour it, free what was loaded
      handle_.reset();
      throw NativeError(ErrorKind::Aborted, "model load was aborted");
    }
  }

  Napi::Value Result(Napi::Env env) override {
    // An abort raised after the weights were in but before the promise settled still wins: the
    // caller asked for no model, so none is handed out (the handle frees the weights).
    if (Aborted()) {
      handle_.reset();
      Throw(env, ErrorKind::Aborted, "model load was aborted");
    }
    return Model::NewInstance(env, handle_);
  }

 private:
  static bool Progress(float progress, void* data) {
    auto* self = static_cast<LoadTask*>(data);
    if (self->Aborted() || exit_gate::Exiting()) return false;
    if (self->report_progress_ && (progress >= 1.0f || progress - self->last_progress_ >= 0.01f)) {
      self->last_progress_ = progress;
      self->Post([progress](Napi::Env env, Napi::Function cb) { cb.Call({Napi::Number::New(env, progress)}); });
    }
    return true;
  }

  // With RPC servers, the model's devices are listed explicitly, as llama.cpp's default selection
  // would order them: the workers' devices first (fewer transfers), then the local accelerators.
  // The local CPU keeps the layers not offloaded (gpuLayers) and the input embeddings. The workers
  // are not registered globally (common/arg.cpp does ggml_backend_register): a later load without
  // rpcServers must not use them.
  void SelectDevices() {
    if (rpc_servers_.empty()) {
      if (!tensor_split_in_.empty()) {
        SetTensorSplit(0);
      }
      return;
    }
    devices_ = RpcConnect(rpc_servers_, rpc_);
    const size_t n_rpc = devices_.size();
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
      ggml_backend_dev_t dev = ggml_backend_dev_get(i);
      enum ggml_backend_dev_type t = ggml_backend_dev_type(dev);
      if (t == GGML_BACKEND_DEVICE_TYPE_GPU || t == GGML_BACKEND_DEVICE_TYPE_IGPU) devices_.push_back(dev);
    }
    SetTensorSplit(n_rpc);
    devices_.push_back(nullptr);
    params_.devices = devices_.data();
  }

  void SetTensorSplit(size_t n_rpc) {
    if (tensor_split_in_.empty()) return;
    size_t n_devices = devices_.size();
    if (rpc_servers_.empty()) {
      for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        enum ggml_backend_dev_type t = ggml_backend_dev_type(ggml_backend_dev_get(i));
        if (t == GGML_BACKEND_DEVICE_TYPE_GPU || t == GGML_BACKEND_DEVICE_TYPE_IGPU) n_devices++;
      }
    }
    if (tensor_split_in_.size() > n_devices || tensor_split_in_.size() > llama_max_devices()) {
      throw NativeError(ErrorKind::Load, "tensorSplit has " + std::to_string(tensor_split_in_.size()) + " entries but the model has " +
                                             std::to_string(n_devices) + " devices to split across (" + std::to_string(n_rpc) +
                                             " from RPC servers; the local CPU keeps what gpuLayers does not offload)");
    }
    tensor_split_.assign(llama_max_devices(), 0.0f);
    for (size_t i = 0; i < tensor_split_in_.size(); i++) tensor_split_[i] = static_cast<float>(tensor_split_in_[i]);
    params_.tensor_split = tensor_split_.data();
  }

  std::string path_;
  llama_model_params params_;
  bool report_progress_;
  std::vector<std::string> rpc_servers_;
  std::vector<double> tensor_split_in_;
  std::vector<ggml_backend_dev_t> devices_;
  std::vector<float> tensor_split_;
  std::vector<RpcEndpoint> rpc_;
  float last_progress_ = -1.0f;
  ModelHandlePtr handle_;
};

}  // namespace

Napi::Function Model::Init(Napi::Env env) {
  return DefineClass(env, "Model",
                     {
                         Method<&Model::Tokenize>("tokenize"),
                         Method<&Model::Detokenize>("detokenize"),
                         Method<&Model::TokenToPiece>("tokenToPiece"),
                         Method<&Model::IsEog>("isEog"),
                         Method<&Model::Info>("info"),
                         Method<&Model::Vocab>("vocab"),
                         Method<&Model::Dispose>("dispose"),
                         InstanceAccessor<&Model::GetDisposed>("disposed"),
                         Static<&Model::Load>("load"),
                     });
}

Napi::Value Model::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  Params p(env, info.Length() > 1 ? info[1] : env.Undefined(), kModelLoadParams);
  AbortFlagPtr abort = AbortFlag::FromArg(env, info.Length() > 2 ? info[2] : env.Undefined());
  Napi::Function on_progress;
  if (info.Length() > 3 && info[3].IsFunction()) on_progress = info[3].As<Napi::Function>();

  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = static_cast<int32_t>(p.Int("gpuLayers"));
  const std::string mode = p.OneOf("loadMode");
  params.load_mode = mode == "mmap" ? LLAMA_LOAD_MODE_MMAP : mode == "none" ? LLAMA_LOAD_MODE_NONE : LLAMA_LOAD_MODE_AUTO;
  params.vocab_only = p.Bool("vocabOnly");
  params.check_tensors = p.Bool("checkTensors");
  std::vector<std::string> rpc_servers = p.Strings("rpcServers");
  std::vector<double> tensor_split = p.Numbers("tensorSplit");
  p.Done();

  auto* task = new LoadTask(abort, path, params, !on_progress.IsEmpty(), std::move(rpc_servers), std::move(tensor_split));
  return ThreadTask::Start(env, task, on_progress);
}

Napi::Object Model::NewInstance(Napi::Env env, ModelHandlePtr handle) {
  auto* holder = new ModelHandlePtr(std::move(handle));
  auto ext = Napi::External<ModelHandlePtr>::New(env, holder, [](Napi::Env, ModelHandlePtr* p) { delete p; });
  return GetAddonData(env)->model_ctor.New({ext});
}

Model::Model(const Napi::CallbackInfo& info) : Wrapped<Model>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Throw(env, ErrorKind::Type, "Model cannot be constructed directly; use loadModel()");
  }
  // Move the reference out: the External lives until a GC collects it, and a copy left in it would
  // keep the native object (KV cache, weights) alive after dispose() until then.
  handle_ = std::move(*info[0].As<Napi::External<ModelHandlePtr>>().Data());
  TagObject(env, info.This().As<Napi::Object>(), kModelTag);
  // Tell V8 what this object really weighs, so the GC does not treat a 4 GB model as a few bytes.
  external_bytes_ = static_cast<int64_t>(llama_model_size(handle_->model));
  if (external_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
}

Model::~Model() {
  // The finalizer is a backstop for a model that was never disposed: the handle is shared, so
  // contexts still holding it keep the weights alive; V8's external-memory count drops now.
  if (external_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -external_bytes_);
  handle_.reset();
}

void Model::ReleaseHandle(Napi::Env env) {
  if (!handle_) return;
  handle_.reset();
  if (external_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
}

const ModelHandlePtr& Model::Handle(Napi::Env env) const {
  if (!handle_) ThrowDisposed(env, "model");
  return handle_;
}

Napi::Value Model::Tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  const ModelHandlePtr& h = self->Handle(env);
  std::string text = ArgString(info, 0, "text");
  bool add_special = info.Length() > 1 && info[1].ToBoolean().Value();
  bool parse_special = info.Length() > 2 && info[2].ToBoolean().Value();
  if (text.size() > static_cast<size_t>(INT32_MAX) / 2) {
    Throw(env, ErrorKind::Range,
          "text is too long to tokenize: " + std::to_string(text.size()) + " bytes (llama.cpp counts in 32-bit integers)");
  }
  // A first guess that bounds memory for huge texts (a token covers at least one byte, so size + 4
  // always suffices, but 300 MB of text would mean 1.2 GB of buffer); llama_tokenize returns the
  // exact count, negated, when the buffer is too small.
  std::vector<llama_token> tokens(std::min<size_t>(text.size() + 4, size_t{1} << 20));
  int32_t n = llama_tokenize(h->vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), static_cast<int32_t>(tokens.size()),
                             add_special, parse_special);
  if (n == INT32_MIN) Throw(env, ErrorKind::Range, "tokenization overflowed a 32-bit token count");
  if (n < 0) {
    tokens.resize(static_cast<size_t>(-static_cast<int64_t>(n)));
    n = llama_tokenize(h->vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), static_cast<int32_t>(tokens.size()),
                       add_special, parse_special);
    if (n < 0) Throw(env, ErrorKind::Generic, "tokenization failed");
  }
  auto out = Napi::Int32Array::New(env, static_cast<size_t>(n));
  std::copy(tokens.begin(), tokens.begin() + n, out.Data());
  return out;
}

Napi::Value Model::Detokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  const ModelHandlePtr& h = self->Handle(env);
  if (info.Length() < 1) Throw(env, ErrorKind::Type, "tokens must be an Int32Array or an array of token ids");
  std::vector<llama_token> tokens = ArgTokens(env, info[0], "tokens", h->n_vocab);
  bool remove_special = info.Length() > 1 && info[1].ToBoolean().Value();
  bool unparse_special = info.Length() > 2 && info[2].ToBoolean().Value();
  if (tokens.empty()) return Napi::String::New(env, "");
  if (tokens.size() > static_cast<size_t>(INT32_MAX)) Throw(env, ErrorKind::Range, "too many tokens");
  std::string text(tokens.size() * 4 + 16, '\0');
  auto call = [&] {
    return llama_detokenize(h->vocab, tokens.data(), static_cast<int32_t>(tokens.size()), text.data(),
                            static_cast<int32_t>(std::min<size_t>(text.size(), INT32_MAX)), remove_special, unparse_special);
  };
  int32_t n = call();
  if (n < 0) {
    if (n == INT32_MIN) Throw(env, ErrorKind::Range, "detokenized text would exceed 2 GiB");
    text.resize(static_cast<size_t>(-static_cast<int64_t>(n)));
    n = call();
    if (n < 0) Throw(env, ErrorKind::Generic, "detokenization failed");
  }
  return Napi::String::New(env, text.data(), static_cast<size_t>(n));
}

Napi::Value Model::TokenToPiece(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  const ModelHandlePtr& h = self->Handle(env);
  if (info.Length() < 1 || !info[0].IsNumber()) Throw(env, ErrorKind::Type, "token must be a number");
  Napi::Array one = Napi::Array::New(env, 1);
  one.Set(uint32_t(0), info[0]);
  llama_token token = ArgTokens(env, one, "token", h->n_vocab)[0];  // range check with the shared message
  bool special = info.Length() > 1 && info[1].ToBoolean().Value();
  char buf[256];
  int32_t n = llama_token_to_piece(h->vocab, token, buf, sizeof(buf), 0, special);
  if (n >= 0) return Napi::String::New(env, buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(-n), '\0');
  n = llama_token_to_piece(h->vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, special);
  if (n < 0) Throw(env, ErrorKind::Generic, "token_to_piece failed");
  return Napi::String::New(env, big.data(), static_cast<size_t>(n));
}

Napi::Value Model::IsEog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  const ModelHandlePtr& h = self->Handle(env);
  if (info.Length() < 1 || !info[0].IsNumber()) Throw(env, ErrorKind::Type, "token must be a number");
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(std::floor(d) == d) || d < 0 || d >= h->n_vocab) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, llama_vocab_is_eog(h->vocab, static_cast<llama_token>(d)));
}

static std::string MetaString(llama_model* model, const char* key) {
  char buf[512];
  int32_t n = llama_model_meta_val_str(model, key, buf, sizeof(buf));
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof(buf)) return std::string(buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  llama_model_meta_val_str(model, key, big.data(), big.size());
  big.resize(static_cast<size_t>(n));
  return big;
}

Napi::Value Model::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  const ModelHandlePtr& h = self->Handle(env);
  llama_model* m = h->model;
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", MetaString(m, "general.architecture"));
  o.Set("name", MetaString(m, "general.name"));
  char desc[256];
  int32_t dn = llama_model_desc(m, desc, sizeof(desc));
  o.Set("description", dn > 0 ? std::string(desc, std::min<size_t>(dn, sizeof(desc) - 1)) : std::string());
  o.Set("nParams", static_cast<double>(llama_model_n_params(m)));
  o.Set("sizeBytes", static_cast<double>(llama_model_size(m)));
  o.Set("contextLength", static_cast<double>(llama_model_n_ctx_train(m)));
  o.Set("embeddingLength", static_cast<double>(llama_model_n_embd(m)));
  o.Set("embeddingOutputLength", static_cast<double>(llama_model_n_embd_out(m)));
  const int32_t n_layer = llama_model_n_layer(m);
  o.Set("layers", static_cast<double>(n_layer));
  // Per-layer getters abort (GGML_ABORT in llama-hparams.cpp) on a model without layers, such as a
  // vocab-only load: only ask when there is a layer 0.
  o.Set("heads", static_cast<double>(n_layer > 0 ? llama_model_n_head(m) : 0));
  o.Set("headsKv", static_cast<double>(n_layer > 0 ? llama_model_n_head_kv(m) : 0));
  o.Set("vocabSize", static_cast<double>(h->n_vocab));
  o.Set("hasEncoder", llama_model_has_encoder(m));
  o.Set("hasDecoder", llama_model_has_decoder(m));
  const char* tmpl = llama_model_chat_template(m, nullptr);
  if (tmpl != nullptr) o.Set("chatTemplate", tmpl);
  Napi::Object meta = Napi::Object::New(env);
  int32_t count = llama_model_meta_count(m);
  for (int32_t i = 0; i < count; i++) {
    char key[256];
    int32_t kn = llama_model_meta_key_by_index(m, i, key, sizeof(key));
    if (kn < 0) continue;
    std::string k(key, std::min<size_t>(kn, sizeof(key) - 1));
    char val[1024];
    int32_t vn = llama_model_meta_val_str_by_index(m, i, val, sizeof(val));
    std::string v;
    if (vn >= 0 && static_cast<size_t>(vn) < sizeof(val)) {
      v.assign(val, static_cast<size_t>(vn));
    } else if (vn >= 0) {
      v.assign(static_cast<size_t>(vn) + 1, '\0');
      llama_model_meta_val_str_by_index(m, i, v.data(), v.size());
      v.resize(static_cast<size_t>(vn));
    }
    meta.Set(k, Napi::String::New(env, v));
  }
  o.Set("metadata", meta);
  o.Set("devices", ModelDevices(env, m));
  return o;
}

Napi::Value Model::Vocab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  const ModelHandlePtr& h = self->Handle(env);
  const llama_vocab* v = h->vocab;
  Napi::Object o = Napi::Object::New(env);
  o.Set("bos", static_cast<double>(llama_vocab_bos(v)));
  o.Set("eos", static_cast<double>(llama_vocab_eos(v)));
  o.Set("eot", static_cast<double>(llama_vocab_eot(v)));
  o.Set("nl", static_cast<double>(llama_vocab_nl(v)));
  o.Set("size", static_cast<double>(h->n_vocab));
  o.Set("addBos", llama_vocab_get_add_bos(v));
  o.Set("addEos", llama_vocab_get_add_eos(v));
  o.Set("sep", static_cast<double>(llama_vocab_sep(v)));
  o.Set("addSep", llama_vocab_get_add_sep(v));
  o.Set("vocabOnly", h->vocab_only);
  // The longest token text, in bytes: with SPM, byte-level BPE and RWKV vocabularies no token covers
  // more bytes of input than its text has (their encodings only lengthen it), so a text of B bytes
  // needs at least B / maxTokenBytes tokens. Lets a prompt that cannot fit be refused before it is
  // tokenized.
  // WPM and UGM normalize their input (drop whitespace runs, strip accents), so for them no such
  // bound holds: 0 there.
  size_t max_len = 0;
  enum llama_vocab_type type = llama_vocab_type(v);
  if (type == LLAMA_VOCAB_TYPE_SPM || type == LLAMA_VOCAB_TYPE_BPE || type == LLAMA_VOCAB_TYPE_RWKV) {
    max_len = 1;
    for (int32_t i = 0; i < h->n_vocab; i++) {
      const char* t = llama_vocab_get_text(v, i);
      if (t != nullptr) max_len = std::max(max_len, std::strlen(t));
    }
  }
  o.Set("maxTokenBytes", static_cast<double>(max_len));
  return o;
}

Napi::Value Model::Dispose(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  self->ReleaseHandle(info.Env());
  return info.Env().Undefined();
}

Napi::Value Model::GetDisposed(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<Model>(info, kModelTag, "Model");
  return Napi::Boolean::New(info.Env(), !self->handle_);
}

}  // namespace llama_native
