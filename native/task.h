// ThreadTask: one unit of heavy work (load, create context, embed) on a thread of its own.
// AsyncOp, its base, is the part shared with generation streams, which run on a context's engine
// thread instead (engine.h): a promise, a TSFN for streamed events, and a safe end.
//
// Why not Napi::AsyncWorker: a generation can run for minutes, and the libuv pool has 4 threads that
// fs, dns and zlib share; parking generations there would stall the host application. A dedicated
// thread per task keeps the pool free. Results and streamed events travel through one
// ThreadSafeFunction, so every streamed event reaches JS before the promise settles.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common.h"

namespace llama_native {

class AsyncOp {
 public:
  using EventFn = std::function<void(Napi::Env, Napi::Function)>;

  virtual ~AsyncOp() = default;

  // Sets up the promise and the TSFN, then calls Launch(). The promise settles with Result() or the
  // error given to Fail(). `onEvent` receives what Post() sends; it may be empty. The op deletes
  // itself once it has finished and JS has seen the result.
  static Napi::Promise Start(Napi::Env env, AsyncOp* op, Napi::Function onEvent);

  // JS objects that must stay alive while the op runs (input buffers, the wrapping object).
  void Keep(Napi::Object obj);

  // Any thread, once: settles the promise (after every event posted before) and lets go of the TSFN.
  // The op must not be touched by the finishing thread after Quiesce() can return.
  void Finish();
  void Fail(ErrorKind kind, std::string message);
  bool Aborted() const { return abort_ && abort_->load(std::memory_order_relaxed); }

 protected:
  explicit AsyncOp(AbortFlagPtr abort) : abort_(std::move(abort)) {}

  virtual void Launch() = 0;  // JS thread, after Start() set things up
  virtual void Quiesce() = 0;  // JS thread, before deletion: wait until no other thread uses this op
  virtual Napi::Value Result(Napi::Env env) = 0;  // JS thread, when the op finished without Fail()

  // From the working thread: run `fn` on the JS thread with the onEvent callback. Never blocks.
  void Post(EventFn fn);

  AbortFlagPtr abort_;

 private:
  struct Event {
    EventFn fn;
    bool done = false;
  };
  static void CallJs(Napi::Env env, Napi::Function callback, AsyncOp* op, Event* event);
  static void Finalize(Napi::Env env, void* data, AsyncOp* op);
  static void OnEnvCleanup(void* arg);

  using Tsfn = Napi::TypedThreadSafeFunction<AsyncOp, Event, CallJs>;
  Tsfn tsfn_;
  std::unique_ptr<Napi::Promise::Deferred> deferred_;
  napi_env env_ = nullptr;
  bool failed_ = false;
  ErrorKind error_kind_ = ErrorKind::Generic;
  std::string error_message_;
  std::vector<Napi::ObjectReference> kept_;
};

class ThreadTask : public AsyncOp {
 public:
  // Kept for the call sites: starts Execute() on a thread of its own.
  static Napi::Promise Start(Napi::Env env, ThreadTask* task, Napi::Function onEvent) { return AsyncOp::Start(env, task, onEvent); }

 protected:
  explicit ThreadTask(AbortFlagPtr abort) : AsyncOp(std::move(abort)) {}
  virtual void Execute() = 0;  // worker thread: no N-API calls here; throw NativeError to fail

 private:
  void Launch() final;
  void Quiesce() final;
  std::thread thread_;
};

}  // namespace llama_native
