// ThreadTuner: chooses, for a run of similar decodes, between all of a context's threads and one
// thread, by measuring both while it works.
//
// ggml's CPU threads meet at a spinning barrier after every graph node. When something else keeps
// a core busy (a build, a browser, another process's inference), the thread on that core is
// preempted for a whole time slice while the others spin at the barrier, once per node: on two cores
// with two busy loops beside it, a 2-thread decode of stories260K ran 10x slower than a 1-thread one
// (and llama-bench -t 2 2x slower than llama-bench -t 1). On an idle machine all threads are faster.
// The tuner decodes with its current choice, keeps a moving average of the time per token for each
// choice, and now and then decodes with the other one to see whether it has become the faster.
// It starts with two decodes each way — all threads first when the cores look free (the running count
// of /proc/loadavg), else one thread first — and picks the faster. Every thread is tried again only
// while the cores look free, since a try under load can take hundreds of milliseconds. Exploring then costs ~1 % of the time:
// the next look at the other choice waits until 100x its last measured cost has passed (at least
// 0.25 s, at most 30 s), so a choice that is 300x slower under load is re-checked twice a minute, and
// one that became the faster is found within a second or so. The measurement is the decode alone, not
// the wait for cores (cpu_budget.h).
#pragma once

#include <chrono>
#include <cstdint>

namespace llama_native {

class ThreadTuner {
 public:
  using Clock = std::chrono::steady_clock;

  // Threads the next decode should ask for: `full` or 1 (`cores`: what the process may use).
  int Choose(int full, int cores, Clock::time_point now);
  // After a successful decode of `tokens` tokens that took `seconds` with `threads` threads, having
  // asked for `wanted` (a lease cut short because other contexts were decoding is not recorded).
  void Record(int threads, int full, int wanted, double seconds, int tokens, Clock::time_point now);

  // False: always all threads (createContext({ adaptiveThreads: false })).
  bool enabled = true;

 private:
  enum Option { kOne = 0, kFull = 1 };
  static constexpr int kExploreDecodes = 2;  // the first decode after a switch warms caches and pools: only the last counts
  static constexpr double kAlpha = 0.1;

  double ema_[2] = {0, 0};  // seconds per token, by option
  int64_t samples_[2] = {0, 0};
  Option choice_ = kFull;
  int exploring_ = 0;  // decodes of the other option still to run
  Clock::time_point next_explore_{};
};

}  // namespace llama_native
