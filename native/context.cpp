#include "context.h"

#include <climits>
#include <cmath>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "abort_flag.h"
#include "ggml-cpu.h"
#include "addon.h"
#include "cpu_budget.h"
#include "exit_gate.h"
#include "generation.h"
#include "log.h"
#include "task.h"

namespace llama_native {

namespace {

// The CPU backend's threadpool API, looked up through the backend registry so that it also works
// when the CPU backend is a dynamically loaded variant (GGML_BACKEND_DL).
struct ThreadpoolApi {
  decltype(ggml_threadpool_new)* create = nullptr;
  decltype(ggml_threadpool_free)* destroy = nullptr;
  decltype(ggml_threadpool_pause)* pause = nullptr;  // optional (vendor/patches/0005)
};

const ThreadpoolApi& Threadpools() {
  static ThreadpoolApi api = [] {
    ThreadpoolApi a;
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ggml_backend_reg_t reg = cpu != nullptr ? ggml_backend_dev_backend_reg(cpu) : nullptr;
    if (reg != nullptr) {
      a.create = reinterpret_cast<decltype(ggml_threadpool_new)*>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
      a.destroy = reinterpret_cast<decltype(ggml_threadpool_free)*>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"));
      a.pause = reinterpret_cast<decltype(ggml_threadpool_pause)*>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_pause"));
    }
    if (a.create == nullptr || a.destroy == nullptr) a = ThreadpoolApi{};
    return a;
  }();
  return api;
}

}  // namespace

ContextHandle::~ContextHandle() {
  engine.reset();  // joins the engine thread before anything it used goes
  if (batch.token != nullptr) llama_batch_free(batch);
  if (ctx != nullptr) {
    llama_detach_threadpool(ctx);
    llama_free(ctx);
  }
  if (threadpool != nullptr) Threadpools().destroy(threadpool);
  if (threadpool_batch != nullptr) Threadpools().destroy(threadpool_batch);
#if defined(__GLIBC__)
  // As after a model (model.cpp): hand the freed KV cache, graph and batch memory back. glibc raises
  // its mmap threshold after the first large free, so later buffers come from the arenas, and which
  // arena keeps the free pages depends on thread timing: 10,000 contexts created and disposed grew
  // RSS by 0-7 % over their second half with the live heap flat, depending on load.
  malloc_trim(0);
#endif
}

Engine& ContextHandle::GetEngine() {
  if (!engine) engine = std::make_unique<Engine>(*this);
  return *engine;
}

bool ContextHandle::Idle() { return !busy.load() && (!engine || engine->Idle()); }

void ContextHandle::ResyncTokens(int32_t seq) {
  auto& tokens = seq_tokens[static_cast<size_t>(seq)];
  llama_pos max = llama_memory_seq_pos_max(llama_get_memory(ctx), seq);
  size_t held = max < 0 ? 0 : static_cast<size_t>(max) + 1;
  if (held < tokens.size()) tokens.resize(held);
  if (held > tokens.size()) {  // should not happen; do not trust a cache we cannot describe
    llama_memory_seq_rm(llama_get_memory(ctx), seq, -1, -1);
    tokens.clear();
  }
}

void ContextHandle::PausePools() {
  const ThreadpoolApi& tp = Threadpools();
  if (tp.pause == nullptr) return;
  if (threadpool != nullptr) tp.pause(threadpool);
  if (threadpool_batch != nullptr) tp.pause(threadpool_batch);
}

// All the threads asked for: the context's own pools. Fewer (the cores are shared with other
// contexts): the pools sleep, detached, and ggml runs the decode on the calling thread plus
// n - 1 threads of its own (none for one thread).
void ContextHandle::UseThreads(int32_t n) {
  const int32_t full = std::max(n_threads, n_threads_batch);
  n = std::min(n, full);
  if (n == threads_now) return;
  if (n == full) {
    if (threadpool != nullptr) llama_attach_threadpool(ctx, threadpool, threadpool_batch != nullptr ? threadpool_batch : threadpool);
    llama_set_n_threads(ctx, n_threads, n_threads_batch);
  } else {
    if (threads_now == full && threadpool != nullptr) {
      PausePools();
      llama_detach_threadpool(ctx);
    }
    llama_set_n_threads(ctx, std::min(n, n_threads), std::min(n, n_threads_batch));
  }
  threads_now = n;
}

int32_t ContextHandle::Decode(const llama_batch& b, bool encode) {
  CpuLease lease(std::max(n_threads, n_threads_batch));
  UseThreads(lease.threads());
  int32_t rc;
  {
    QuietAbortScope quiet;
    rc = encode ? llama_encode(ctx, b) : llama_decode(ctx, b);
  }
  if (CpuLease::Contended()) PausePools();
  return rc;
}

static bool AbortCallback(void* data) {
  auto* h = static_cast<ContextHandle*>(data);
  std::atomic<bool>* flag = h->abort_now.load();
  bool stop = exit_gate::Exiting() || (h->engine && h->engine->BatchAborted()) ||
              (flag != nullptr && flag->load(std::memory_order_relaxed));
  if (stop) NoteAbortFired();
  return stop;
}

namespace {

class CreateTask : public ThreadTask {
 public:
  CreateTask(ModelHandlePtr model, llama_context_params params, uint32_t poll)
      : ThreadTask(nullptr), model_(std::move(model)), params_(params), poll_(poll) {}

 protected:
  void Execute() override {
    LogCapture capture;
    llama_context* ctx = llama_init_from_model(model_->model, params_);
    if (ctx == nullptr) {
      std::string why = capture.Text();
      throw NativeError(ErrorKind::Generic, "failed to create the context" + (why.empty() ? "" : ": " + why));
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
    handle_->n_ctx_seq = static_cast<int32_t>(llama_n_ctx_seq(ctx));
    handle_->seq_tokens.resize(static_cast<size_t>(handle_->n_seq_max));
    handle_->embeddings = params_.embeddings;
    handle_->pooling = llama_pooling_type(ctx);
    handle_->batch = llama_batch_init(handle_->n_batch, 0, 1);
    llama_set_abort_callback(ctx, AbortCallback, handle_.get());
    // Without an attached threadpool, ggml (built without OpenMP) starts and joins its worker
    // threads on every graph evaluation, i.e. once per generated token.
    const ThreadpoolApi& tp = Threadpools();
    if (tp.create != nullptr) {
      // Created paused: a running pool's workers spin (`poll`) before they sleep, and a context
      // that is created but not used yet took the cores from the contexts that were decoding (a
      // first prompt decode went from 1 ms to 80 ms on 2 cores). The first evaluation resumes it.
      ggml_threadpool_params tpp = ggml_threadpool_params_default(params_.n_threads);
      tpp.poll = poll_;
      tpp.paused = true;
      handle_->threadpool = tp.create(&tpp);
      if (params_.n_threads_batch != params_.n_threads) {
        ggml_threadpool_params tpb = ggml_threadpool_params_default(params_.n_threads_batch);
        tpb.poll = poll_;
        tpb.paused = true;
        handle_->threadpool_batch = tp.create(&tpb);
      }
      if (handle_->threadpool != nullptr) {
        llama_attach_threadpool(ctx, handle_->threadpool,
                                handle_->threadpool_batch != nullptr ? handle_->threadpool_batch : handle_->threadpool);
      }
    }
  }
  Napi::Value Result(Napi::Env env) override { return Context::NewInstance(env, handle_); }

 private:
  ModelHandlePtr model_;
  llama_context_params params_;
  uint32_t poll_;
  ContextHandlePtr handle_;
};

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
    const int32_t n_embd = llama_model_n_embd_out(model);
    const bool pooled = h_->pooling != LLAMA_POOLING_TYPE_NONE;
    const bool encoder_only = llama_model_has_encoder(model) && !llama_model_has_decoder(model);
    outputs_.resize(inputs_.size());
    llama_memory_t mem = llama_get_memory(ctx);
    for (auto& t : h_->seq_tokens) t.clear();

    size_t next = 0;
    while (next < inputs_.size()) {
      if (Aborted()) throw NativeError(ErrorKind::Aborted, "embedding was aborted");
      // Pack as many whole inputs as fit in one batch and in the context's sequences.
      llama_batch& b = h_->batch;
      b.n_tokens = 0;
      size_t first = next;
      while (next < inputs_.size() && static_cast<int32_t>(next - first) < h_->n_seq_max &&
             b.n_tokens + static_cast<int32_t>(inputs_[next].size()) <= h_->n_batch) {
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
      if (rc == 2 || Aborted()) throw NativeError(ErrorKind::Aborted, "embedding was aborted");
      if (rc != 0) {
        llama_memory_clear(mem, true);
        throw NativeError(ErrorKind::Generic, "embedding failed: llama_" + std::string(encoder_only ? "encode" : "decode") +
                                                  " returned " + std::to_string(rc));
      }
      int32_t tok_index = 0;
      for (size_t i = first; i < next; i++) {
        const size_t len = inputs_[i].size();
        std::vector<float>& out = outputs_[i];
        if (pooled) {
          const float* e = llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(i - first));
          if (e == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no pooled embedding");
          out.assign(e, e + n_embd);
          if (normalize_) Normalize(out.data(), n_embd);
        } else {
          out.resize(len * static_cast<size_t>(n_embd));
          for (size_t j = 0; j < len; j++) {
            const float* e = llama_get_embeddings_ith(ctx, tok_index + static_cast<int32_t>(j));
            if (e == nullptr) throw NativeError(ErrorKind::Generic, "llama.cpp returned no token embedding");
            std::copy(e, e + n_embd, out.data() + j * n_embd);
            if (normalize_) Normalize(out.data() + j * n_embd, n_embd);
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

enum llama_pooling_type ParsePooling(Napi::Env env, const std::string& s) {
  if (s.empty() || s == "default") return LLAMA_POOLING_TYPE_UNSPECIFIED;
  if (s == "none") return LLAMA_POOLING_TYPE_NONE;
  if (s == "mean") return LLAMA_POOLING_TYPE_MEAN;
  if (s == "cls") return LLAMA_POOLING_TYPE_CLS;
  if (s == "last") return LLAMA_POOLING_TYPE_LAST;
  Throw(env, ErrorKind::Range, "pooling must be one of 'default', 'none', 'mean', 'cls', 'last'; got '" + s + "'");
}

const char* PoolingName(enum llama_pooling_type p) {
  switch (p) {
    case LLAMA_POOLING_TYPE_NONE: return "none";
    case LLAMA_POOLING_TYPE_MEAN: return "mean";
    case LLAMA_POOLING_TYPE_CLS: return "cls";
    case LLAMA_POOLING_TYPE_LAST: return "last";
    case LLAMA_POOLING_TYPE_RANK: return "rank";
    default: return "default";
  }
}

}  // namespace

Napi::Function Context::Init(Napi::Env env) {
  return DefineClass(env, "Context",
                     {
                         InstanceMethod<&Context::Generate>("generate"),
                         InstanceMethod<&Context::Embed>("embed"),
                         InstanceMethod<&Context::Info>("info"),
                         InstanceMethod<&Context::CachedTokens>("cachedTokens"),
                         InstanceMethod<&Context::ClearCache>("clearCache"),
                         InstanceMethod<&Context::Dispose>("dispose"),
                         InstanceAccessor<&Context::GetDisposed>("disposed"),
                         StaticMethod<&Context::Create>("create"),
                     });
}

Napi::Value Context::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !HasTag(env, info[0], kModelTag)) Throw(env, ErrorKind::Type, "model must be a Model");
  ModelHandlePtr model = Model::Unwrap(info[0].As<Napi::Object>())->Handle(env);
  if (model->vocab_only) {
    Throw(env, ErrorKind::Generic, "this model was loaded with vocabOnly: true and has no weights; load it again without vocabOnly to create a context");
  }
  Napi::Object o = ArgObject(info, 1, "options");
  llama_context_params p = llama_context_default_params();
  const int32_t n_ctx_train = llama_model_n_ctx_train(model->model);
  p.n_ctx = static_cast<uint32_t>(OptInt(o, "contextSize", std::min<int32_t>(n_ctx_train > 0 ? n_ctx_train : 4096, 4096), 1, 1 << 24));
  p.embeddings = OptBool(o, "embeddings", false);
  p.n_batch = static_cast<uint32_t>(OptInt(o, "batchSize", p.embeddings ? p.n_ctx : std::min<uint32_t>(512, p.n_ctx), 1, 1 << 24));
  p.n_ubatch = static_cast<uint32_t>(OptInt(o, "ubatchSize", p.embeddings ? p.n_batch : std::min<uint32_t>(512, p.n_batch), 1, p.n_batch));
  p.n_seq_max = static_cast<uint32_t>(OptInt(o, "sequences", p.embeddings ? 64 : 1, 1, static_cast<int64_t>(llama_max_parallel_sequences())));
  // More threads than the CPUs this process may run on are clamped: ggml's threads meet at
  // spinning barriers, and one preempted thread stalls the rest (llama-bench -t 3 on 2 cores: 1.9
  // tokens/s against 8941 with -t 2).
  const int32_t cores = CpuLease::Cores();
  p.n_threads = static_cast<int32_t>(std::min<int64_t>(OptInt(o, "threads", cores, 1, 1024), cores));
  p.n_threads_batch = static_cast<int32_t>(std::min<int64_t>(OptInt(o, "batchThreads", p.n_threads, 1, 1024), cores));
  p.pooling_type = ParsePooling(env, OptString(o, "pooling", ""));
  // Separate per-sequence caches by default: attention then spans only a stream's own cells.
  p.kv_unified = p.embeddings || OptBool(o, "unifiedKvCache", false);
  p.no_perf = true;
  if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
  if (p.n_ubatch > p.n_batch) p.n_ubatch = p.n_batch;
  // llama.cpp reserves one output per sequence within n_outputs_max (= n_batch) and aborts
  // (llama-context.cpp GGML_ASSERT(n_outputs_max <= cparams.n_outputs_max)) when sequences exceed it.
  if (p.n_seq_max > p.n_batch) {
    if (!o.Get("sequences").IsUndefined()) {
      Throw(env, ErrorKind::Range, "sequences (" + std::to_string(p.n_seq_max) + ") must not exceed batchSize (" +
                                       std::to_string(p.n_batch) + "): each sequence needs an output slot in a batch");
    }
    p.n_seq_max = p.n_batch;  // the default (64 for embeddings) shrinks to fit a small batch
  }
  uint32_t poll = static_cast<uint32_t>(OptInt(o, "threadPoll", 50, 0, 100));
  return ThreadTask::Start(env, new CreateTask(model, p, poll), Napi::Function());
}

Napi::Object Context::NewInstance(Napi::Env env, ContextHandlePtr handle) {
  auto* holder = new ContextHandlePtr(std::move(handle));
  auto ext = Napi::External<ContextHandlePtr>::New(env, holder, [](Napi::Env, ContextHandlePtr* p) { delete p; });
  return GetAddonData(env)->context_ctor.New({ext});
}

Context::Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Throw(env, ErrorKind::Type, "Context cannot be constructed directly; use model.createContext()");
  }
  // Move the reference out: the External lives until a GC collects it, and a copy left in it would
  // keep the native object (KV cache, weights) alive after dispose() until then.
  handle_ = std::move(*info[0].As<Napi::External<ContextHandlePtr>>().Data());
  TagObject(env, info.This().As<Napi::Object>(), kContextTag);
}

ContextHandlePtr Context::Claim(Napi::Env env, const char* what) {
  if (!handle_) Throw(env, ErrorKind::Disposed, "the context has been disposed");
  bool expected = false;
  if (!handle_->busy.compare_exchange_strong(expected, true)) {
    Throw(env, ErrorKind::Generic, std::string("cannot ") + what + ": another operation is running on this context");
  }
  return handle_;
}

Napi::Value Context::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  if (!self->handle_) Throw(env, ErrorKind::Disposed, "the context has been disposed");
  GenerationRequest req = GenerationRequest::FromJs(info, *self->handle_);
  Napi::Function on_chunk = info.Length() > 3 && info[3].IsFunction() ? info[3].As<Napi::Function>() : Napi::Function();
  AbortFlagPtr abort = AbortFlag::FromArg(env, info.Length() > 2 ? info[2] : env.Undefined());
  if (self->handle_->busy.load()) Throw(env, ErrorKind::Generic, "cannot generate: another operation is running on this context");
  // Streams wait in the engine's queue when every sequence is busy.
  return StartGeneration(env, self->handle_, std::move(req), std::move(abort), on_chunk);
}

Napi::Value Context::Embed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  if (!self->handle_) Throw(env, ErrorKind::Disposed, "the context has been disposed");
  ContextHandle& h = *self->handle_;
  if (!h.embeddings) {
    Throw(env, ErrorKind::Generic, "this context was created without embeddings: true; create one with model.createContext({ embeddings: true })");
  }
  if (info.Length() < 1 || !info[0].IsArray()) Throw(env, ErrorKind::Type, "inputs must be an array of token arrays");
  auto arr = info[0].As<Napi::Array>();
  std::vector<std::vector<llama_token>> inputs;
  inputs.reserve(arr.Length());
  const uint32_t n_ubatch = llama_n_ubatch(h.ctx);
  for (uint32_t i = 0; i < arr.Length(); i++) {
    auto toks = ArgTokens(env, arr.Get(i), "input", h.model->n_vocab);
    if (toks.empty()) Throw(env, ErrorKind::Range, "input " + std::to_string(i) + " is empty: nothing to embed");
    int32_t limit = std::min<int32_t>({h.n_batch, static_cast<int32_t>(n_ubatch), h.n_ctx});
    if (static_cast<int64_t>(toks.size()) > limit) {
      Throw(env, ErrorKind::ContextFull,
            "input " + std::to_string(i) + " is " + std::to_string(toks.size()) + " tokens; this embedding context takes at most " +
                std::to_string(limit) + " per input (contextSize " + std::to_string(h.n_ctx) + ", batchSize " +
                std::to_string(h.n_batch) + ")");
    }
    int32_t n_train = llama_model_n_ctx_train(h.model->model);
    if (n_train > 0 && static_cast<int64_t>(toks.size()) > n_train) {
      Throw(env, ErrorKind::ContextFull, "input " + std::to_string(i) + " is " + std::to_string(toks.size()) +
                                             " tokens; the model was trained on at most " + std::to_string(n_train));
    }
    inputs.push_back(std::move(toks));
  }
  bool normalize = info.Length() < 2 || info[1].ToBoolean().Value();
  AbortFlagPtr abort = AbortFlag::FromArg(env, info.Length() > 2 ? info[2] : env.Undefined());
  ContextHandlePtr hp = self->Claim(env, "embed");
  auto* task = new EmbedTask(abort, hp, std::move(inputs), normalize);
  task->Keep(info.This().As<Napi::Object>());
  return ThreadTask::Start(env, task, Napi::Function());
}

Napi::Value Context::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  if (!self->handle_) Throw(env, ErrorKind::Disposed, "the context has been disposed");
  ContextHandle& h = *self->handle_;
  Napi::Object o = Napi::Object::New(env);
  o.Set("contextSize", static_cast<double>(h.n_ctx));
  o.Set("batchSize", static_cast<double>(h.n_batch));
  o.Set("ubatchSize", static_cast<double>(llama_n_ubatch(h.ctx)));
  o.Set("sequences", static_cast<double>(h.n_seq_max));
  o.Set("sequenceContextSize", static_cast<double>(h.n_ctx_seq));
  o.Set("threads", static_cast<double>(llama_n_threads(h.ctx)));
  o.Set("batchThreads", static_cast<double>(llama_n_threads_batch(h.ctx)));
  o.Set("embeddings", h.embeddings);
  o.Set("pooling", PoolingName(h.pooling));
  o.Set("canShift", llama_memory_can_shift(llama_get_memory(h.ctx)));
  o.Set("threadpool", h.threadpool != nullptr);
  return o;
}

int32_t Context::ArgSequence(const Napi::CallbackInfo& info, size_t i, const ContextHandle& h, int32_t fallback) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || info[i].IsUndefined()) return fallback;
  Napi::Value v = info[i];
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.5;
  // range first: converting NaN or a huge value to an integer is undefined behaviour
  if (!v.IsNumber() || !(d >= 0 && d < h.n_seq_max) || std::floor(d) != d) {
    Throw(env, v.IsNumber() ? ErrorKind::Range : ErrorKind::Type,
          "sequence must be an integer from 0 to " + std::to_string(h.n_seq_max - 1) + " (this context has " +
              std::to_string(h.n_seq_max) + " sequences)");
  }
  return static_cast<int32_t>(d);
}

Napi::Value Context::CachedTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  if (!self->handle_) Throw(env, ErrorKind::Disposed, "the context has been disposed");
  ContextHandle& h = *self->handle_;
  int32_t seq = ArgSequence(info, 0, h, 0);
  if (!h.Idle()) Throw(env, ErrorKind::Generic, "cannot read the cache while an operation is running");
  const auto& t = h.seq_tokens[static_cast<size_t>(seq)];
  auto out = Napi::Int32Array::New(env, t.size());
  std::copy(t.begin(), t.end(), out.Data());
  return out;
}

Napi::Value Context::ClearCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  if (!self->handle_) Throw(env, ErrorKind::Disposed, "the context has been disposed");
  ContextHandle& h = *self->handle_;
  int32_t seq = ArgSequence(info, 0, h, -1);
  ContextHandlePtr hp = self->Claim(env, "clear the cache");
  // Holding the engine's lock keeps it from starting a stream while the cache changes.
  std::unique_lock<std::mutex> lk;
  if (h.engine) lk = std::unique_lock<std::mutex>(h.engine->mutex());
  bool idle = !h.engine || h.engine->IdleLocked();
  if (idle) {
    llama_memory_t mem = llama_get_memory(h.ctx);
    if (seq < 0) {
      llama_memory_clear(mem, true);
      for (auto& t : h.seq_tokens) t.clear();
    } else {
      llama_memory_seq_rm(mem, seq, -1, -1);
      h.seq_tokens[static_cast<size_t>(seq)].clear();
    }
  }
  h.busy.store(false);
  if (!idle) Throw(env, ErrorKind::Generic, "cannot clear the cache: a generation is running on this context");
  return env.Undefined();
}

Napi::Value Context::Dispose(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  if (self->handle_) {
    // Running work holds its own reference: raise its flag; the memory goes when it returns.
    std::atomic<bool>* running = self->handle_->abort_now.load();
    if (running != nullptr) running->store(true);
    if (self->handle_->engine) self->handle_->engine->AbortAll();
    self->handle_.reset();
  }
  return info.Env().Undefined();
}

Napi::Value Context::GetDisposed(const Napi::CallbackInfo& info) {
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  return Napi::Boolean::New(info.Env(), !self->handle_);
}

}  // namespace llama_native
