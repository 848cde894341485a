#include "cpu_budget.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#ifdef __linux__
#include <sched.h>
#endif

namespace llama_native {

namespace {

int CountCores() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Deliberately leaked, like the exit gate: threads may still hold a lease while exit() runs the
// static destructors.
struct Budget {
  const int total = CountCores();
  std::mutex mu;
  std::condition_variable changed;
  int used = 0;  // guarded by mu
  int multi = 0;  // guarded by mu: leases of more than one thread
  int users = 0;  // guarded by mu
  uint64_t next_ticket = 0;  // guarded by mu
  uint64_t serving = 0;  // guarded by mu: the ticket whose turn it is
  std::atomic<int> waiting{0};
};

Budget& budget() {
  static Budget* b = new Budget();
  return *b;
}

}  // namespace

CpuLease::CpuLease(int wanted) {
  Budget& b = budget();
  std::unique_lock<std::mutex> lk(b.mu);
  uint64_t ticket = b.next_ticket++;
  // A single-threaded decode has no barrier to stall, so once every lease is single-threaded, more
  // of them than cores may run and the OS shares the cores out (4 contexts on 2 cores: 1.35x the
  // aggregate of 2 at a time). Only a lease of several threads needs cores to itself.
  auto share = [&] { return std::max(1, b.total / std::max(1, b.users)); };
  auto fits = [&] {
    if (ticket != b.serving) return false;
    if (b.used < b.total) return true;
    return std::min(wanted, share()) == 1 && b.multi == 0;
  };
  if (!fits()) {
    b.waiting.fetch_add(1);
    b.changed.wait(lk, fits);
    b.waiting.fetch_sub(1);
  }
  units_ = std::max(1, std::min({wanted, share(), b.total - b.used}));
  b.used += units_;
  if (units_ > 1) b.multi++;
  b.serving++;
  lk.unlock();
  b.changed.notify_all();  // the next ticket may fit beside this one
}

CpuLease::~CpuLease() {
  Budget& b = budget();
  {
    std::lock_guard<std::mutex> lk(b.mu);
    b.used -= units_;
    if (units_ > 1) b.multi--;
  }
  b.changed.notify_all();
}

bool CpuLease::Contended() { return budget().waiting.load(std::memory_order_relaxed) > 0; }

int CpuLease::Cores() { return budget().total; }

CpuUser::CpuUser() {
  Budget& b = budget();
  std::lock_guard<std::mutex> lk(b.mu);
  b.users++;
}

CpuUser::~CpuUser() {
  Budget& b = budget();
  std::lock_guard<std::mutex> lk(b.mu);
  b.users--;
}

}  // namespace llama_native
