#include "exit_gate.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace llama_native::exit_gate {

namespace {
// Deliberately leaked: these must outlive the static destructors that run during exit().
struct State {
  std::mutex mu;
  std::condition_variable left;
  int open = 0;  // guarded by mu
  std::atomic<bool> exiting{false};
};
State& state() {
  static State* s = new State();
  return *s;
}
}  // namespace

bool Exiting() { return state().exiting.load(std::memory_order_relaxed); }

int Close(int timeout_ms) {
  State& s = state();
  std::unique_lock<std::mutex> lk(s.mu);
  s.exiting.store(true);
  s.left.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return s.open == 0; });
  return s.open;
}

Scope::Scope() {
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mu);
  open_ = !s.exiting.load();
  if (open_) s.open++;
}

Scope::~Scope() {
  if (!open_) return;
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mu);
  if (--s.open == 0) s.left.notify_all();
}

}  // namespace llama_native::exit_gate
