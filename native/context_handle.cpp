#include "context_handle.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cpu_budget.h"
#include "exit_gate.h"
#include "ggml-cpu.h"
#include "log.h"

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
  spec.reset();  // the draft context uses this context's thread pools
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
  // llama.cpp runs one-token batches with n_threads and larger ones with n_threads_batch; each batch
  // size class has its own tuner (thread_tuner.h), which may ask for one thread when that has
  // measured faster.
  const bool single = b.n_tokens == 1;
  ThreadTuner& tuner = tuners[static_cast<size_t>(ThreadTuner::Bucket(b.n_tokens))];
  const int32_t full = single ? n_threads : n_threads_batch;
  const int32_t wanted = tuner.Choose(full, CpuLease::Cores(), ThreadTuner::Clock::now());
  CpuLease lease(wanted == full ? std::max(n_threads, n_threads_batch) : wanted);
  UseThreads(lease.threads());
  int32_t rc;
  const auto start = ThreadTuner::Clock::now();
  {
    QuietAbortScope quiet;
    rc = encode ? llama_encode(ctx, b) : llama_decode(ctx, b);
    // An asynchronous backend (RPC, CUDA) returns from llama_decode with the graph still queued: wait
    // for it here, so that the prompt time, the thread tuner's sample and the lost-worker check below
    // see the finished computation (llama.cpp's own timings count that wait too). A no-op on the CPU.
    if (rc == 0) llama_synchronize(ctx);
  }
  const auto end = ThreadTuner::Clock::now();
  // A lost RPC worker (vendor/patches/0009) leaves ggml's client failing quietly: its reads come
  // back zeroed, so even a decode that returned 0 computed garbage. Say so instead.
  if (!model->rpc.empty() && !RpcLostWorker(model->rpc).empty()) return kDecodeRpcLost;
  if (rc == 0) {
    tuner.Record(std::min(lease.threads(), full), full, wanted, std::chrono::duration<double>(end - start).count(), b.n_tokens, end);
  }
  if (CpuLease::Contended()) PausePools();
  return rc;
}

static bool AbortCallback(void* data) {
  auto* h = static_cast<ContextHandle*>(data);
  std::atomic<bool>* flag = h->abort_now.load();
  bool stop =
      exit_gate::Exiting() || (h->engine && h->engine->BatchAborted()) || (flag != nullptr && flag->load(std::memory_order_relaxed));
  if (stop) NoteAbortFired();
  return stop;
}
void ContextHandle::CreateThreadpools(uint32_t poll) {
  // Without an attached threadpool, ggml (built without OpenMP) starts and joins its worker
  // threads on every graph evaluation, i.e. once per generated token.
  const ThreadpoolApi& tp = Threadpools();
  if (tp.create == nullptr) return;
  // Created paused: a running pool's workers spin (`poll`) before they sleep, and a context that is
  // created but not used yet took the cores from the contexts that were decoding (a first prompt
  // decode went from 1 ms to 80 ms on 2 cores). The first evaluation resumes it.
  ggml_threadpool_params tpp = ggml_threadpool_params_default(n_threads);
  tpp.poll = poll;
  tpp.paused = true;
  threadpool = tp.create(&tpp);
  if (n_threads_batch != n_threads) {
    ggml_threadpool_params tpb = ggml_threadpool_params_default(n_threads_batch);
    tpb.poll = poll;
    tpb.paused = true;
    threadpool_batch = tp.create(&tpb);
  }
  if (threadpool != nullptr) {
    llama_attach_threadpool(ctx, threadpool, threadpool_batch != nullptr ? threadpool_batch : threadpool);
  }
}

void ContextHandle::InstallAbortCallback() { llama_set_abort_callback(ctx, AbortCallback, this); }

}  // namespace llama_native
