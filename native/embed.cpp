#include "embed.h"

#include <algorithm>
#include <cmath>

#include "abort_flag.h"
#include "cpu_budget.h"
#include "task.h"

namespace llama_native {

namespace {

class EmbedTask : public ThreadTask {
 public:
  EmbedTask(AbortFlagPtr abort, ContextHandlePtr h, std::vector<std::vector<llama_token>> inputs, bool normalize)
      : ThreadTask(std::move(abort)), h_(std::move(h)), inputs_(std::move(inputs)), normalize_(normalize) {}

 protected:
  void Execute() override {
    BusyScope busy(*h_, abort_.get());
    CpuUser user;
    llama_context* ctx = h_->ctx;
    llama_model* model = h_->model->model;
    const bool pooled = h_->pooling != LLAMA_POOLING_TYPE_NONE;
    // Rank pooling yields the classification head's n_cls_out scores per sequence, not a vector of
    // n_embd_out (llama-context.cpp resizes embd_seq to n_cls_out); scores are never normalized.
    const bool rank = h_->pooling == LLAMA_POOLING_TYPE_RANK;
    const int32_t n_embd = rank ? static_cast<int32_t>(llama_model_n_cls_out(model)) : llama_model_n_embd_out(model);
    const bool normalize = normalize_ && !rank;
    const bool encoder_only = llama_model_has_encoder(model) && !llama_model_has_decoder(model);
    outputs_.resize(inputs_.size());
    llama_memory_t mem = llama_get_memory(ctx);
    for (auto& t : h_->seq_tokens) t.clear();

    // One decode holds at most n_ubatch tokens: llama.cpp asserts that encoders and non-causal
    // decoders get the whole batch in one ubatch (llama-context.cpp, "encoder requires n_ubatch >=
    // n_tokens" / "non-causal attention requires n_ubatch >= n_tokens"); a causal model would split
    // it into ubatches anyway.
    const int32_t batch_limit = std::min<int32_t>(h_->n_batch, static_cast<int32_t>(llama_n_ubatch(ctx)));
    size_t next = 0;
    while (next < inputs_.size()) {
      if (Aborted()) throw NativeError(ErrorKind::Aborted, "embedding was aborted");
      // Pack as many whole inputs as fit in one batch and in the context's sequences.
      llama_batch& b = h_->batch;
      b.n_tokens = 0;
      size_t first = next;
      while (next < inputs_.size() && static_cast<int32_t>(next - first) < h_->n_seq_max &&
             b.n_tokens + static_cast<int32_t>(inputs_[next].size()) <= batch_limit) {
        const auto& toks = inputs_[next];
        llama_seq_id seq = static_cast<llama_seq_id>(next - first);
        for (size_t j = 0; j < toks.size(); j++) {
          int32_t k = b.n_tokens++;
          b.token[k] = toks[j];
          b.pos[k] = static_cast<llama_pos>(j);
          b.n_seq_id[k] = 1;
          b.seq_id[k][0] = seq;
          b.logits[k] = true;
        }
        next++;
      }
      llama_memory_clear(mem, true);
      int32_t rc = h_->Decode(b, encoder_only);
      if (rc == kDecodeRpcLost) {
        throw NativeError(ErrorKind::Rpc, "RPC server " + RpcLostWorker(h_->model->rpc) + " was lost; the model must be loaded again");
      }
      if (rc == 2 || Aborted()) throw NativeError(ErrorKind::Aborted, "embedding was aborted");
      if (rc != 0) {
        llama_memory_clear(mem, true);
        throw NativeError(ErrorKind::Generic,
                          "embedding failed: llama_" + std::string(encoder_only ? "encode" : "decode") + " returned " + std::to_string(rc));
      }
      int32_t tok_index = 0;
      for (size_t i = first; i < next; i++) {
        const size_t len = inputs_[i].size();
        std::vector<float>& out = outputs_[i];
        if (pooled) {
          const float* e = llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(i - first));
          if (e == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no pooled embedding");
          out.assign(e, e + n_embd);
          if (normalize) Normalize(out.data(), n_embd);
        } else {
          out.resize(len * static_cast<size_t>(n_embd));
          for (size_t j = 0; j < len; j++) {
            const float* e = llama_get_embeddings_ith(ctx, tok_index + static_cast<int32_t>(j));
            if (e == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no token embedding");
            std::copy(e, e + n_embd, out.data() + j * n_embd);
            if (normalize) Normalize(out.data() + j * n_embd, n_embd);
          }
        }
        tok_index += static_cast<int32_t>(len);
      }
    }
    llama_memory_clear(mem, true);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); i++) {
      auto fa = Napi::Float32Array::New(env, outputs_[i].size());
      std::copy(outputs_[i].begin(), outputs_[i].end(), fa.Data());
      arr.Set(static_cast<uint32_t>(i), fa);
    }
    return arr;
  }

 private:
  static void Normalize(float* v, int32_t n) {
    double sum = 0;
    for (int32_t i = 0; i < n; i++) sum += static_cast<double>(v[i]) * v[i];
    double norm = std::sqrt(sum);
    if (norm <= 0) return;
    float scale = static_cast<float>(1.0 / norm);
    for (int32_t i = 0; i < n; i++) v[i] *= scale;
  }

  ContextHandlePtr h_;
  std::vector<std::vector<llama_token>> inputs_;
  bool normalize_;
  std::vector<std::vector<float>> outputs_;
};

}  // namespace

EmbedRequest EmbedRequest::FromJs(const Napi::CallbackInfo& info, const ContextHandle& h) {
  Napi::Env env = info.Env();
  EmbedRequest r;
  if (info.Length() < 1 || !info[0].IsArray()) Throw(env, ErrorKind::Type, "inputs must be an array of token arrays");
  auto arr = info[0].As<Napi::Array>();
  r.inputs.reserve(arr.Length());
  const uint32_t n_ubatch = llama_n_ubatch(h.ctx);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    auto toks = ArgTokens(env, arr.Get(i), "input", h.model->n_vocab);
    if (toks.empty()) Throw(env, ErrorKind::Range, "input " + std::to_string(i) + " is empty: nothing to embed");
    int32_t limit = std::min<int32_t>({h.n_batch, static_cast<int32_t>(n_ubatch), h.n_ctx});
    if (static_cast<int64_t>(toks.size()) > limit) {
      Throw(env, ErrorKind::ContextFull,
            "input " + std::to_string(i) + " is " + std::to_string(toks.size()) + " tokens; this embedding context takes at most " +
                std::to_string(limit) + " per input (contextSize " + std::to_string(h.n_ctx) + ", batchSize " + std::to_string(h.n_batch) +
                ")");
    }
    int32_t n_train = llama_model_n_ctx_train(h.model->model);
    if (n_train > 0 && static_cast<int64_t>(toks.size()) > n_train) {
      Throw(env, ErrorKind::ContextFull,
            "input " + std::to_string(i) + " is " + std::to_string(toks.size()) + " tokens; the model was trained on at most " +
                std::to_string(n_train));
    }
    r.inputs.push_back(std::move(toks));
  }
  r.normalize = info.Length() < 2 || info[1].ToBoolean().Value();
  r.abort = AbortFlag::FromArg(env, info.Length() > 2 ? info[2] : env.Undefined());
  return r;
}

Napi::Value StartEmbed(Napi::Env env, ContextHandlePtr h, EmbedRequest req, Napi::Object self) {
  auto* task = new EmbedTask(req.abort, std::move(h), std::move(req.inputs), req.normalize);
  task->Keep(self);
  return ThreadTask::Start(env, task, Napi::Function());
}

}  // namespace llama_native
