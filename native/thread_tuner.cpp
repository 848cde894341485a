#include "thread_tuner.h"

#include <algorithm>
#include <cstdio>

namespace llama_native {

namespace {

// Tasks runnable on the machine at this instant besides the caller: the running count of
// /proc/loadavg ("0.50 0.40 0.30 R/T last-pid"), minus one. -1 where it cannot be read.
int RunnableOthers() {
#ifdef __linux__
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return -1;
  double a, b, c;
  int running = 0, total = 0;
  int n = std::fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total);
  std::fclose(f);
  return n == 5 && running > 0 ? running - 1 : -1;
#else
  return -1;
#endif
}

constexpr double kMinIntervalS = 0.25;
constexpr double kMaxIntervalS = 30.0;
constexpr double kCostShare = 100.0;  // wait this many times an exploration's cost before the next one

}  // namespace

int ThreadTuner::Choose(int full, int cores, Clock::time_point now) {
  if (full <= 1) return 1;
  if (!enabled) return full;
  // Decoding with every thread while other tasks want the cores is what is slow, and a look at it can
  // cost hundreds of milliseconds; one thread never is. So a context starts with every thread only
  // when the cores look free, and looks at every thread again only then.
  const auto cores_free = [&] {
    const int others = RunnableOthers();
    return others < 0 || others + full <= cores;
  };
  if (samples_[kOne] == 0 && samples_[kFull] == 0 && exploring_ == 0 && !cores_free()) choice_ = kOne;
  const Option other = choice_ == kFull ? kOne : kFull;
  if (exploring_ == 0 && samples_[choice_] >= 2 && (samples_[other] == 0 || now >= next_explore_)) {
    if (other == kOne || cores_free()) {
      exploring_ = kExploreDecodes;
    } else {
      next_explore_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kMinIntervalS));
    }
  }
  const Option use = exploring_ > 0 ? other : choice_;
  return use == kFull ? full : 1;
}

void ThreadTuner::Record(int threads, int full, int wanted, double seconds, int tokens, Clock::time_point now) {
  if (full <= 1 || threads != wanted || tokens <= 0 || !(seconds >= 0)) return;  // a lease cut short by other contexts says nothing
  const Option opt = threads == full ? kFull : kOne;
  const double spt = seconds / tokens;
  if (opt == choice_) {
    // the first decode of a choice warms it up and is not counted
    if (samples_[opt]++ > 0) ema_[opt] = samples_[opt] == 2 ? spt : (1 - kAlpha) * ema_[opt] + kAlpha * spt;
    return;
  }
  if (exploring_ == 0 || --exploring_ > 0) return;  // only the last decode of an exploration counts
  samples_[opt] += kExploreDecodes;
  ema_[opt] = spt;
  // 3 % hysteresis, so that two choices within noise of each other do not flap
  if (spt < ema_[choice_] * 0.97) choice_ = opt;
  const Option other = choice_ == kFull ? kOne : kFull;
  const double cost = ema_[other] * tokens * kExploreDecodes;
  const double wait = std::clamp(kCostShare * cost, kMinIntervalS, kMaxIntervalS);
  next_explore_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
}

}  // namespace llama_native
