// ThreadTask: one unit of heavy work (load, create context, generate, embed) on a thread of its own.
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

class ThreadTask {
 public:
  using EventFn = std::function<void(Napi::Env, Napi::Function)>;

  virtual ~ThreadTask() = default;

  // Starts Execute() on a new thread; the promise settles with Result() or Execute()'s error.
  // `onEvent` receives what Post() sends; it may be empty. The task deletes itself when done.
  static Napi::Promise Start(Napi::Env env, ThreadTask* task, Napi::Function onEvent);

  // JS objects that must stay alive while the task runs (input buffers, the wrapping object).
  void Keep(Napi::Object obj);

 protected:
  explicit ThreadTask(AbortFlagPtr abort) : abort_(std::move(abort)) {}

  virtual void Execute() = 0;                    // worker thread: no N-API calls here
  virtual Napi::Value Result(Napi::Env env) = 0;  // JS thread, after Execute() returned normally

  // From Execute(): run `fn` on the JS thread with the onEvent callback. Never blocks the caller.
  void Post(EventFn fn);
  bool Aborted() const { return abort_ && abort_->load(std::memory_order_relaxed); }

  AbortFlagPtr abort_;

 private:
  struct Event {
    EventFn fn;
    bool done = false;
  };
  static void CallJs(Napi::Env env, Napi::Function callback, ThreadTask* task, Event* event);
  static void Finalize(Napi::Env env, void* data, ThreadTask* task);
  static void OnEnvCleanup(void* arg);
  void Run();

  using Tsfn = Napi::TypedThreadSafeFunction<ThreadTask, Event, CallJs>;
  Tsfn tsfn_;
  std::unique_ptr<Napi::Promise::Deferred> deferred_;
  std::thread thread_;
  napi_env env_ = nullptr;
  bool failed_ = false;
  ErrorKind error_kind_ = ErrorKind::Generic;
  std::string error_message_;
  std::vector<Napi::ObjectReference> kept_;
};

}  // namespace llama_native
