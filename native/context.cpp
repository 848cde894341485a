#include "context.h"

#include <cmath>

#include "abort_flag.h"
#include "addon.h"
#include "context_create.h"
#include "embed.h"
#include "generation.h"

namespace llama_native {

namespace {

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
                         Method<&Context::Generate>("generate"),
                         Method<&Context::Embed>("embed"),
                         Method<&Context::Info>("info"),
                         Method<&Context::CachedTokens>("cachedTokens"),
                         Method<&Context::ClearCache>("clearCache"),
                         Method<&Context::AcquireSequence>("acquireSequence"),
                         Method<&Context::ReleaseSequence>("releaseSequence"),
                         Method<&Context::SetLoras>("setLoras"),
                         Method<&Context::GetState>("getState"),
                         Method<&Context::SetState>("setState"),
                         Method<&Context::SaveState>("saveState"),
                         Method<&Context::Dispose>("dispose"),
                         InstanceAccessor<&Context::GetDisposed>("disposed"),
                         Static<&CreateContext>("create"),
                     });
}

Napi::Object Context::NewInstance(Napi::Env env, ContextHandlePtr handle) {
  auto* holder = new ContextHandlePtr(std::move(handle));
  auto ext = Napi::External<ContextHandlePtr>::New(env, holder, [](Napi::Env, ContextHandlePtr* p) { delete p; });
  return GetAddonData(env)->context_ctor.New({ext});
}

Context::Context(const Napi::CallbackInfo& info) : Wrapped<Context>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    Throw(env, ErrorKind::Type, "Context cannot be constructed directly; use model.createContext()");
  }
  // Move the reference out: the External lives until a GC collects it, and a copy left in it would
  // keep the native object (KV cache, weights) alive after dispose() until then.
  handle_ = std::move(*info[0].As<Napi::External<ContextHandlePtr>>().Data());
  TagObject(env, info.This().As<Napi::Object>(), kContextTag);
}

ContextHandle& Context::Live(Napi::Env env) {
  if (!handle_) ThrowDisposed(env, "context");
  return *handle_;
}

ContextHandlePtr Context::Claim(Napi::Env env, const char* what) {
  Live(env);
  bool expected = false;
  if (!handle_->busy.compare_exchange_strong(expected, true)) {
    Throw(env, ErrorKind::Generic, std::string("cannot ") + what + ": another operation is running on this context");
  }
  return handle_;
}

Napi::Value Context::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  self->Live(env);
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
  ContextHandle& h = self->Live(env);
  if (!h.embeddings) {
    Throw(env, ErrorKind::Generic,
          "this context was created without embeddings: true; create one with model.createContext({ embeddings: true })");
  }
  EmbedRequest req = EmbedRequest::FromJs(info, h);
  return StartEmbed(env, self->Claim(env, "embed"), std::move(req), info.This().As<Napi::Object>());
}

Napi::Value Context::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
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
  o.Set("contextShift", h.shift_enabled);
  o.Set("contextShiftKeep", static_cast<double>(h.shift_keep));
  const SpeculativeConfig::Kind spec = h.spec ? h.spec->config().kind : SpeculativeConfig::Kind::None;
  o.Set("speculative", spec == SpeculativeConfig::Kind::Draft ? "draft" : spec == SpeculativeConfig::Kind::Ngram ? "ngram" : "none");
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
          "sequence must be an integer from 0 to " + std::to_string(h.n_seq_max - 1) + " (this context has " + std::to_string(h.n_seq_max) +
              " sequences)");
  }
  return static_cast<int32_t>(d);
}

Napi::Value Context::CachedTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
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
  ContextHandle& h = self->Live(env);
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

// acquireSequence() → a sequence no Sequence object owns and no stream runs in, now owned; -1 when
// there is none. The engine then gives it only to generations that name it.
Napi::Value Context::AcquireSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
  if (h.embeddings) Throw(env, ErrorKind::Generic, "an embedding context has no sequences to own");
  return Napi::Number::New(env, h.GetEngine().AcquireSequence());
}

// releaseSequence(seq): the sequence is shared again (what it holds stays cached for reuse).
Napi::Value Context::ReleaseSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* self = UnwrapTagged<Context>(info, kContextTag, "Context");
  ContextHandle& h = self->Live(env);
  int32_t seq = ArgSequence(info, 0, h, -1);
  if (seq < 0) Throw(env, ErrorKind::Type, "releaseSequence needs a sequence");
  h.GetEngine().ReleaseSequence(seq);
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
