#include "task.h"

namespace llama_native {

void ThreadTask::Keep(Napi::Object obj) { kept_.push_back(Napi::Persistent(obj)); }

Napi::Promise ThreadTask::Start(Napi::Env env, ThreadTask* task, Napi::Function onEvent) {
  task->env_ = env;
  task->deferred_ = std::make_unique<Napi::Promise::Deferred>(env);
  Napi::Promise promise = task->deferred_->Promise();
  try {
    task->tsfn_ = Tsfn::New(env, onEvent, "llama-native", 0 /* unbounded queue: never blocks */, 1, task, Finalize,
                            static_cast<void*>(nullptr));
  } catch (...) {
    delete task;
    throw;
  }
  // Registered after the TSFN, so at environment teardown (a worker_thread ending) it runs first:
  // it raises the abort flag, and the TSFN's own teardown then finalizes (joins) the task.
  napi_add_env_cleanup_hook(env, OnEnvCleanup, task);
  task->thread_ = std::thread([task] { task->Run(); });
  return promise;
}

void ThreadTask::OnEnvCleanup(void* arg) {
  auto* task = static_cast<ThreadTask*>(arg);
  if (task->abort_) task->abort_->store(true);
}

void ThreadTask::Run() {
  try {
    Execute();
  } catch (const NativeError& e) {
    failed_ = true;
    error_kind_ = e.kind;
    error_message_ = e.what();
  } catch (const std::exception& e) {
    failed_ = true;
    error_message_ = std::string("llama.cpp raised an exception: ") + e.what();
  } catch (...) {
    failed_ = true;
    error_message_ = "llama.cpp raised an unknown exception";
  }
  auto* done = new Event();
  done->done = true;
  if (tsfn_.NonBlockingCall(done) != napi_ok) delete done;  // environment is closing
  tsfn_.Release();
}

void ThreadTask::Post(EventFn fn) {
  auto* ev = new Event{std::move(fn), false};
  if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
}

void ThreadTask::CallJs(Napi::Env env, Napi::Function callback, ThreadTask* task, Event* event) {
  std::unique_ptr<Event> ev(event);
  if (static_cast<napi_env>(env) == nullptr || ev == nullptr) return;  // teardown: drop the event
  if (!ev->done) {
    if (callback.IsEmpty() || !ev->fn) return;
    try {
      ev->fn(env, callback);
    } catch (const Napi::Error& e) {
      // An exception thrown by the JS listener must not unwind into the TSFN machinery.
      (void)e;
    }
    return;
  }
  Napi::HandleScope scope(env);
  if (task->failed_) {
    task->deferred_->Reject(MakeError(env, task->error_kind_, task->error_message_).Value());
    return;
  }
  try {
    task->deferred_->Resolve(task->Result(env));
  } catch (const Napi::Error& e) {
    task->deferred_->Reject(e.Value());
  }
}

void ThreadTask::Finalize(Napi::Env env, void*, ThreadTask* task) {
  if (task->thread_.joinable()) task->thread_.join();
  napi_remove_env_cleanup_hook(task->env_, OnEnvCleanup, task);
  delete task;
}

}  // namespace llama_native
