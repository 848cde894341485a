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
// /proc/loadavg, less this process's own runnable threads), else with one thread, and after eight
// counted decodes on all threads (kFirstLookAfter), three on one, looks at the other choice for
// five. Every thread is tried again only while the cores look free, since a try under load can
// take hundreds of milliseconds. The next look waits until a multiple of its own cost (the other
// choice's measured time) has passed, at least 0.25 s and at most 30 s: 100x (exploring costs ~1 %
// of the time), except after a look that changed the choice: then 4x, and five times more after
// each look that kept it (20x, 100x).
// So a choice that is 300x slower under load is re-checked twice a minute, one that became the faster
// is found within a second or so, and a choice made on a process's first decodes (cold caches, a core
// waking up: a 4-token decode of bench-134m took 39 ms at 2 threads there and 19.5 ms a moment later,
// and the context moved to one thread at 33 ms) is looked at again soon: a look that moved the
// choice is followed by another after 20 ms at the least, not 0.25 s.
// For batches of more than 16 tokens the wait is counted twice: in time, and in the time this
// tuner's own decodes took, so that a batch size that is a small part of the work (speculative
// decoding's 49-token verifications, three per 128-token generation) is not looked at every quarter
// second; their first look away from all threads also waits until their decodes took 4x its cost
// estimated at the current choice's speed (20 times their first counted decode). One that began on
// one thread (the cores looked busy at its first decode) looks at all threads after three, as small
// batches do, whenever the cores look free. A large batch size that comes seldom is
// therefore looked at seldom. The measurement is the decode alone, not the wait for cores
// (cpu_budget.h).
//
// Decodes of different sizes have different costs per token (a 4-token decode of bench-134m cost
// 2.0-3.1x a 1-token one in bench/speculative.mjs runs, not 4x), so a context keeps one tuner per batch size class (Bucket): comparing
// the medians of two mixes of sizes (speculative verification, continuous batching) compares the
// mixes, not the thread counts.
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

  // Tasks of other processes runnable now (-1: unknown); /proc/loadavg by default, a fake in tests.
  int (*runnable_others)() = DefaultRunnableOthers;
  static int DefaultRunnableOthers();

  // A context's tuners, one per batch size class: 1, 2, ..., 16 tokens exactly, then 17-32, 33-64,
  // 65-128, 129-256, 257-512 and larger.
  static constexpr int kBuckets = 22;
  static int Bucket(int tokens);

 private:
  enum Option { kOne = 0, kFull = 1 };
  // A look at the other choice decodes this many times with it; the first warms caches and wakes a
  // paused pool and is not counted, the median of the others is compared with the median of the
  // current choice's last decodes. One decode each way was too few: single-token decode times on a
  // shared VM scatter by ±40 % (100-175 us for stories260K at 2 threads), and a context stayed on
  // one thread where two were 1.5x faster in every one of four traced runs.
  static constexpr int kExploreDecodes = 5;
  // The first look away from all threads waits for this many counted decodes. With three, a stream's
  // second to fourth decodes decided it: they run while the JS thread takes the first chunk (2-thread
  // decodes of stories260K at 120-8,400 us there against 70-80 us a few tokens later), so one thread
  // (105-150 us) looked faster and a context on two idle cores stayed on one: 5,700 tokens/s where
  // all threads made 9,000 (llama-bench -t 2: 9,450). The median of eight outlasts that start.
  static constexpr int kFirstLookAfter = 8;
  static constexpr int kWindow = 8;
  static_assert(kFirstLookAfter <= kWindow, "a window holds the decodes the first look waits for");

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
  double share_ = 0;  // the next look waits share_ x its cost (0: the first look has not ended)
  double busy_s_ = 0;  // seconds of decodes recorded by this tuner
  double next_busy_s_ = 0;  // > 16 tokens: the next look waits for busy_s_ to reach this as well
  double defer_s_ = 0.02;  // how long a look at all threads waits when the cores look busy (doubles)
};

}  // namespace llama_native
