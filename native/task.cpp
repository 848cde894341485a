#include "task.h"

#include "exit_gate.h"

namespace llama_native {

void AsyncOp::Keep(Napi::Object obj) { kept_.push_back(Napi::Persistent(obj)); }

Napi::Promise AsyncOp::Start(Napi::Env env, AsyncOp* op, Napi::Function onEvent) {
  op->env_ = env;
  op->deferred_ = std::make_unique<Napi::Promise::Deferred>(env);
  Napi::Promise promise = op->deferred_->Promise();
  try {
    op->tsfn_ =
        Tsfn::New(env, onEvent, "llama-native", 0 /* unbounded queue: never blocks */, 1, op, Finalize, static_cast<void*>(nullptr));
  } catch (...) {
    delete op;
    throw;
  }
  // Registered after the TSFN, so at environment teardown (a worker_thread ending) it runs first:
  // it raises the abort flag, and the TSFN's own teardown then finalizes (quiesces) the op.
  napi_add_env_cleanup_hook(env, OnEnvCleanup, op);
  op->Launch();
  return promise;
}

void AsyncOp::OnEnvCleanup(void* arg) {
  auto* op = static_cast<AsyncOp*>(arg);
  if (op->abort_) op->abort_->store(true);
}

void AsyncOp::Fail(ErrorKind kind, std::string message) {
  failed_ = true;
  error_kind_ = kind;
  error_message_ = std::move(message);
}

void AsyncOp::Finish() {
  auto* done = new Event();
  done->done = true;
  if (tsfn_.NonBlockingCall(done) != napi_ok) delete done;  // environment is closing
  tsfn_.Release();
}

void AsyncOp::Post(EventFn fn) {
  auto* ev = new Event{std::move(fn), false};
  if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
}

void AsyncOp::CallJs(Napi::Env env, Napi::Function callback, AsyncOp* op, Event* event) {
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
  if (op->failed_) {
    op->deferred_->Reject(MakeError(env, op->error_kind_, op->error_message_).Value());
    return;
  }
  try {
    op->deferred_->Resolve(op->Result(env));
  } catch (const Napi::Error& e) {
    op->deferred_->Reject(e.Value());
  }
}

void AsyncOp::Finalize(Napi::Env, void*, AsyncOp* op) {
  op->Quiesce();
  napi_remove_env_cleanup_hook(op->env_, OnEnvCleanup, op);
  delete op;
}

void ThreadTask::Launch() {
  thread_ = std::thread([this] {
    exit_gate::Scope gate;  // open until Finish() has posted: the exit waits for the whole op
    try {
      if (!gate) throw NativeError(ErrorKind::Aborted, "the process is exiting");
      Execute();
    } catch (const NativeError& e) {
      Fail(e.kind, e.what());
    } catch (const std::exception& e) {
      Fail(ErrorKind::Generic, std::string("llama.cpp raised an exception: ") + e.what());
    } catch (...) {
      Fail(ErrorKind::Generic, "llama.cpp raised an unknown exception");
    }
    Finish();
  });
}

void ThreadTask::Quiesce() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace llama_native
