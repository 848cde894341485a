#include "context_create.h"

#include <algorithm>

#include "context.h"
#include "context_handle.h"
#include "cpu_budget.h"
#include "log.h"
#include "params.h"
#include "task.h"

namespace llama_native {

namespace {

class CreateTask : public ThreadTask {
 public:
  CreateTask(ModelHandlePtr model, llama_context_params params, uint32_t poll, bool adaptive, bool shift, int32_t keep,
             SpeculativeConfig spec)
      : ThreadTask(nullptr),
        model_(std::move(model)),
        params_(params),
        poll_(poll),
        adaptive_(adaptive),
        shift_(shift),
        keep_(keep),
        spec_(std::move(spec)) {}

 protected:
  void Execute() override {
    LogCapture capture;
    llama_context* ctx = llama_init_from_model(model_->model, params_);
    if (ctx == nullptr) {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Generic, "failed to create the context" + (why.empty() ? "" : ": " + why));
    }
    if (shift_ && !llama_memory_can_shift(llama_get_memory(ctx))) {
      llama_free(ctx);
      throw NativeError(ErrorKind::Generic,
                        "contextShift is not supported by this model: its memory cannot shift positions (llama_memory_can_shift is false; "
                        "recurrent and some hybrid or M-RoPE models); create the context without contextShift");
    }
    handle_ = std::make_shared<ContextHandle>();
    handle_->model = model_;
    handle_->ctx = ctx;
    handle_->n_ctx = static_cast<int32_t>(llama_n_ctx(ctx));
    handle_->n_batch = static_cast<int32_t>(llama_n_batch(ctx));
    handle_->n_seq_max = static_cast<int32_t>(llama_n_seq_max(ctx));
    handle_->n_threads = params_.n_threads;
    handle_->n_threads_batch = params_.n_threads_batch;
    handle_->threads_now = std::max(params_.n_threads, params_.n_threads_batch);
    for (ThreadTuner& t : handle_->tuners) t.enabled = adaptive_;
    handle_->n_ctx_seq = static_cast<int32_t>(llama_n_ctx_seq(ctx));
    handle_->seq_tokens.resize(static_cast<size_t>(handle_->n_seq_max));
    handle_->embeddings = params_.embeddings;
    handle_->shift_enabled = shift_;
    handle_->shift_keep = keep_;
    handle_->pooling = llama_pooling_type(ctx);
    handle_->batch = llama_batch_init(handle_->n_batch, 0, 1);
    handle_->InstallAbortCallback();
    handle_->CreateThreadpools(poll_);
    if (spec_.kind != SpeculativeConfig::Kind::None) handle_->spec = std::make_unique<Speculator>(spec_, *handle_);
  }
  Napi::Value Result(Napi::Env env) override { return Context::NewInstance(env, handle_); }

 private:
  ModelHandlePtr model_;
  llama_context_params params_;
  uint32_t poll_;
  bool adaptive_;
  bool shift_;
  int32_t keep_;
  SpeculativeConfig spec_;
  ContextHandlePtr handle_;
};

enum llama_pooling_type ParsePooling(const std::string& s) {
  if (s == "none") return LLAMA_POOLING_TYPE_NONE;
  if (s == "mean") return LLAMA_POOLING_TYPE_MEAN;
  if (s == "cls") return LLAMA_POOLING_TYPE_CLS;
  if (s == "last") return LLAMA_POOLING_TYPE_LAST;
  if (s == "rank") return LLAMA_POOLING_TYPE_RANK;
  return LLAMA_POOLING_TYPE_UNSPECIFIED;  // "default": the model's own
}

}  // namespace

Napi::Value CreateContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !HasTag(env, info[0], kModelTag)) Throw(env, ErrorKind::Type, "model must be a Model");
  ModelHandlePtr model = Model::Unwrap(info[0].As<Napi::Object>())->Handle(env);
  if (model->vocab_only) {
    Throw(env, ErrorKind::Generic,
          "this model was loaded with vocabOnly: true and has no weights; load it again without vocabOnly to create a context");
  }
  // Every value arrives filled in and range-checked by src/context-options.ts; what is checked here
  // again keeps llama.cpp away from its asserts.
  Params o(env, info.Length() > 1 ? info[1] : env.Undefined(), kContextCreateParams);
  llama_context_params p = llama_context_default_params();
  p.n_ctx = static_cast<uint32_t>(o.Int("contextSize"));
  p.n_batch = static_cast<uint32_t>(o.Int("batchSize"));
  p.n_ubatch = static_cast<uint32_t>(o.Int("ubatchSize"));
  p.n_seq_max = static_cast<uint32_t>(o.Int("sequences"));
  p.embeddings = o.Bool("embeddings");
  // More threads than the CPUs this process may run on are clamped: ggml's threads meet at
  // spinning barriers, and one preempted thread stalls the rest (llama-bench -t 3 on 2 cores: 1.9
  // tokens/s against 8941 with -t 2).
  const int32_t cores = CpuLease::Cores();
  p.n_threads = static_cast<int32_t>(std::min<int64_t>(o.Int("threads"), cores));
  p.n_threads_batch = static_cast<int32_t>(std::min<int64_t>(o.Int("batchThreads"), cores));
  p.pooling_type = ParsePooling(o.OneOf("pooling"));
  // Separate per-sequence caches by default: attention then spans only a stream's own cells.
  const bool unified = o.Bool("unifiedKvCache");
  p.kv_unified = p.embeddings || unified;
  const uint32_t poll = static_cast<uint32_t>(o.Int("threadPoll"));
  const bool adaptive = o.Bool("adaptiveThreads");
  const bool shift = o.Bool("contextShift");
  const int32_t keep = static_cast<int32_t>(o.Int("contextShiftKeep"));
  SpeculativeConfig spec;
  const std::string spec_kind = o.OneOf("speculative");
  spec.kind = spec_kind == "draft"   ? SpeculativeConfig::Kind::Draft
              : spec_kind == "ngram" ? SpeculativeConfig::Kind::Ngram
                                     : SpeculativeConfig::Kind::None;
  spec.n_max = static_cast<int32_t>(o.Int("draftMax"));
  spec.n_min = static_cast<int32_t>(o.Int("draftMin"));
  spec.p_min = static_cast<float>(o.Number("draftPMin"));
  spec.size_n = static_cast<int32_t>(o.Int("ngramSizeN"));
  spec.size_m = static_cast<int32_t>(o.Int("ngramSizeM"));
  o.Done();
  if (spec.kind != SpeculativeConfig::Kind::None) {
    if (p.embeddings) Throw(env, ErrorKind::Range, "speculative decoding needs a generation context, not embeddings: true");
    auto recurrent = [](const llama_model* m) { return llama_model_is_recurrent(m) || llama_model_is_hybrid(m); };
    if (recurrent(model->model)) {
      Throw(env, ErrorKind::Generic,
            "speculative decoding is not supported for this model: its memory (recurrent or hybrid) cannot drop a rejected draft");
    }
  }
  if (spec.kind == SpeculativeConfig::Kind::Draft) {
    if (info.Length() < 3 || !HasTag(env, info[2], kModelTag)) Throw(env, ErrorKind::Type, "speculative.draft.model must be a Model");
    spec.draft_model = Model::Unwrap(info[2].As<Napi::Object>())->Handle(env);
    if (spec.draft_model->vocab_only) {
      Throw(env, ErrorKind::Generic, "the draft model was loaded with vocabOnly: true and has no weights; load it again without vocabOnly");
    }
    if (llama_model_is_recurrent(spec.draft_model->model) || llama_model_is_hybrid(spec.draft_model->model)) {
      Throw(env, ErrorKind::Generic,
            "the draft model's memory (recurrent or hybrid) cannot drop a rejected draft; use a transformer draft model");
    }
    if (spec.n_min > spec.n_max) {
      Throw(env, ErrorKind::Range,
            "speculative.draft.min (" + std::to_string(spec.n_min) + ") must not exceed max (" + std::to_string(spec.n_max) + ")");
    }
  }
  p.no_perf = true;
  if (p.n_batch > p.n_ctx || p.n_ubatch > p.n_batch) {
    Throw(env, ErrorKind::Range, "batchSize must not exceed contextSize, nor ubatchSize batchSize");
  }
  if (p.n_seq_max > static_cast<uint32_t>(llama_max_parallel_sequences())) {
    Throw(env, ErrorKind::Range, "sequences must not exceed " + std::to_string(llama_max_parallel_sequences()));
  }
  // llama.cpp reserves one output per sequence within n_outputs_max (= n_batch) and aborts
  // (llama-context.cpp GGML_ASSERT(n_outputs_max <= cparams.n_outputs_max)) when sequences exceed it.
  if (p.n_seq_max > p.n_batch) {
    Throw(env, ErrorKind::Range,
          "sequences (" + std::to_string(p.n_seq_max) + ") must not exceed batchSize (" + std::to_string(p.n_batch) +
              "): each sequence needs an output slot in a batch");
  }
  return ThreadTask::Start(env, new CreateTask(model, p, poll, adaptive, shift, keep, std::move(spec)), Napi::Function());
}

}  // namespace llama_native
