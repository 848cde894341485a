// ThreadTuner: chooses, for a run of similar decodes, between all of a context's threads and one
// thread, by measuring both while it works.
//
// ggml's CPU threads meet at a spinning barrier after every graph node. When something else keeps
// a core busy (a build, a browser, another process's inference), the thread on that core is
// preempted for a whole time slice while the others spin at the barrier, once per node: on two cores
// with two busy loops beside it, a 2-thread decode of stories260K ran 10x slower than a 1-thread one
// (and llama-bench -t 2 2x slower than llama-bench -t 1). On an idle machine all threads are faster.
// The tuner decodes with its current choice, keeps the last eight times per token of each choice,
// and now and then decodes with the other one to see whether it has become the faster (the medians
// are compared). It starts with all threads when the cores look free (the running count of
// /proc/loadavg, less this process's own runnable threads), else with one thread, and after three
// counted decodes looks at the other choice for five. Every thread is tried again only while the
// cores look free, since a try under load can take hundreds of milliseconds. Exploring then costs ~1 % of the time:
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
  // A look at the other choice decodes this many times with it; the first warms caches and wakes a
  // paused pool and is not counted, the median of the others is compared with the median of the
  // current choice's last decodes. One decode each way was too few: single-token decode times on a
  // shared VM scatter by ±40 % (100-175 us for stories260K at 2 threads), and a context stayed on
  // one thread where two were 1.5x faster in every one of four traced runs.
  static constexpr int kExploreDecodes = 5;
  static constexpr int kWindow = 8;

  // The last seconds-per-token samples of one choice.
  struct Window {
    double v[kWindow] = {};
    int n = 0;
    int next = 0;
    void Add(double x);
    double Median() const;  // 0 when empty
  };

  Window recent_[2];  // the last decodes of each choice while it was the choice (or its last look)
  Window trial_;  // the look now running
  int64_t samples_[2] = {0, 0};
  Option choice_ = kFull;
  int exploring_ = 0;  // decodes of the other option still to run
  Clock::time_point next_explore_{};
};

}  // namespace llama_native
