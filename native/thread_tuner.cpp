#include "thread_tuner.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

#ifdef __linux__
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#endif

namespace llama_native {

namespace {

#ifdef __linux__
// Threads of this process that are runnable now (state R in /proc/self/task/*/stat), the caller
// included. 0 where it cannot be read. Linux only (the only caller is).
int OwnRunnable() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return 0;
  int n = 0;
  char path[64];
  char buf[512];
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) continue;
    buf[len] = 0;
    // "tid (comm) S ...": the state follows the last ')' (comm may contain anything)
    const char* paren = std::strrchr(buf, ')');
    if (paren != nullptr && paren[1] == ' ' && paren[2] == 'R') n++;
  }
  closedir(d);
  return n;
}
#endif

// Tasks of other processes runnable on the machine at this instant: the running count of
// /proc/loadavg ("0.50 0.40 0.30 R/T last-pid") minus this process's runnable threads. Our own
// threads must not count: right after a decode ggml's workers still spin (threadPoll) and the JS
// thread is taking the token, and counting them made an idle machine look busy, so a context began
// (and stayed) on one thread where all were 1.5x faster (stories260K on a 2-core AMD EPYC: 4,400 vs
// 6,500 tokens/s). -1 where it cannot be read.
int ReadRunnableOthers() {
#ifdef __linux__
  const int own_before = OwnRunnable();
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return -1;
  double a, b, c;
  int running = 0, total = 0;
  int n = std::fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total);
  std::fclose(f);
  if (n != 5 || running <= 0) return -1;
  // counted before and after the read: a thread of ours that runs briefly (the JS thread taking a
  // chunk: up to ~1,000 times a second) and was running at the instant of the read but not when its
  // state was read counted as another task; bench-134m then saw "one other task" at every read for
  // 300 ms and stayed on one thread for 100 of 128 tokens in 2 of 6 traced idle runs
  const int own = std::max(own_before, OwnRunnable());
  return std::max(0, running - std::max(1, own));
#else
  return -1;
#endif
}

// Reads of the load after a first one that said busy, before a context starts on one thread.
constexpr int kStartReads = 3;
constexpr double kMinIntervalS = 0.25;
// After a look moved the choice, the next look may come this soon: a look is five decodes, which a
// stream's start or a blip of other work can mislead (bench-134m Q4_0 is 2.6 ms a token on all
// threads and 2.9 on one here, decodes scatter more than that), and a wrong move held for
// kMinIntervalS is most of a short generation (128 tokens of stories260K take ~20 ms, of bench-134m
// ~350 ms; traced: one such move held a generation at 331 tokens/s where all threads made 390).
constexpr double kConfirmS = 0.02;
constexpr double kMaxIntervalS = 30.0;
// Wait this many times a look's cost before the next one: kFirstShare after a look that changed the
// choice, five times more after each look that kept it, up to kCostShare (~1 % of the time).
constexpr double kCostShare = 100.0;
constexpr double kFirstShare = 4.0;

}  // namespace

int ThreadTuner::DefaultRunnableOthers() { return ReadRunnableOthers(); }

int ThreadTuner::Bucket(int tokens) {
  if (tokens <= 16) return std::max(tokens, 1) - 1;  // 0..15
  int b = 16;
  for (int limit = 32; limit < tokens && b < kBuckets - 1; limit *= 2) b++;
  return b;  // 16: 17-32, ..., 20: 257-512, 21: larger
}

void ThreadTuner::Window::Add(double x) {
  v[next] = x;
  next = (next + 1) % kWindow;
  n = std::min(n + 1, kWindow);
}

double ThreadTuner::Window::Median() const {
  if (n == 0) return 0;
  double s[kWindow];
  std::copy(v, v + n, s);
  std::sort(s, s + n);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int ThreadTuner::Choose(int full, int cores, Clock::time_point now) {
  if (full <= 1) return 1;
  if (!enabled) return full;
  // Decoding with every thread while other tasks want the cores is what is slow, and a look at it can
  // cost hundreds of milliseconds; one thread never is. So a context starts with every thread only
  // when the cores look free, and looks at every thread again only then.
  const auto cores_free = [&] {
    const int others = runnable_others();
    return others < 0 || others + full <= cores;
  };
  // The start is a single decision on a single read, and on idle cores about one read in five counts
  // a task that is gone a moment later: an embed() of 64 texts (one ~1,500-token decode per call)
  // began on one thread in 2 to 5 of 8 processes and ran its calls at half speed. So a read that says busy
  // is read again, three times 250 us apart (at most 0.75 ms, at a batch size's first decode only),
  // and the context starts on one thread only if every read says busy.
  if (samples_[kOne] == 0 && samples_[kFull] == 0 && exploring_ == 0 && !cores_free()) {
    bool busy = true;
    for (int i = 0; i < kStartReads && busy; i++) {
      if (runnable_others == DefaultRunnableOthers) std::this_thread::sleep_for(std::chrono::microseconds(250));
      busy = !cores_free();
    }
    if (busy) choice_ = kOne;
  }
  const Option other = choice_ == kFull ? kOne : kFull;
  // the current choice's first decode is not counted: a first look away from all threads waits for
  // kFirstLookAfter that are, any other look for three (a look's median includes the last look's;
  // one thread's decodes are not disturbed by the stream's start as all threads' are). A look that
  // has to wait for free cores is deferred, not re-asked at every decode: reading the load costs
  // ~150 us on busy cores, and asking per token (while every thread had never been tried) took
  // stories260K beside one busy loop from 4,000 to 2,400 tokens/s. The deferral starts at 20 ms and
  // doubles up to kMinIntervalS: the load read at a stream's first decode often counts a task that
  // is gone a moment later (a thread of this process between the two reads, another process's
  // blip: bench-134m began on one thread in 4 of 6 traced idle runs), and a flat 0.25 s held one
  // such generation on one thread for 60 of its 128 tokens.
  const int counted = share_ == 0 && choice_ == kFull ? kFirstLookAfter : 3;
  if (exploring_ == 0 && recent_[choice_].n >= counted && now >= next_explore_ && busy_s_ >= next_busy_s_) {
    if (other == kOne || cores_free()) {
      exploring_ = kExploreDecodes;
      trial_ = Window{};
      if (other == kFull) defer_s_ = kConfirmS;
    } else {
      next_explore_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(defer_s_));
      defer_s_ = std::min(defer_s_ * 2, kMinIntervalS);
    }
  }
  const Option use = exploring_ > 0 ? other : choice_;
  return use == kFull ? full : 1;
}

void ThreadTuner::Record(int threads, int full, int wanted, double seconds, int tokens, Clock::time_point now) {
  if (full <= 1 || threads != wanted || tokens <= 0 || !(seconds >= 0)) return;  // a lease cut short by other contexts says nothing
  const Option opt = threads == full ? kFull : kOne;
  const double spt = seconds / tokens;
  busy_s_ += seconds;
  if (opt == choice_) {
    // the first decode of a context allocates its graph and is not counted
    if (samples_[opt]++ > 0) recent_[opt].Add(spt);
    // The first look comes after three counted decodes, so that a load /proc/loadavg does not show is
    // found out at once (a look at small batches costs milliseconds); for batches of more than 16
    // tokens, only once their own decodes have taken kFirstShare times what the look would cost at
    // this choice's speed: 4 x 5 = 20 times this first counted decode (a speculative n-gram
    // generation makes three 49-token verifications).
    // Only away from all threads: a context that began on one thread did so because the cores looked
    // busy at its first decode, and often were not a moment later (a load read that counts a task
    // about to end); it looks at all threads after three counted decodes when the cores look free, as
    // a small batch does (embedding bench-134m Q4_0 on idle cores otherwise stayed on one thread at
    // half speed for four of its five 1,509-token decodes, one per call, in a traced run).
    if (share_ == 0 && next_busy_s_ == 0 && recent_[opt].n == 1 && tokens > 16 && opt == kFull) {
      next_busy_s_ = busy_s_ + std::min(kFirstShare * seconds * kExploreDecodes, kMaxIntervalS);
    }
    return;
  }
  if (exploring_ == 0) return;
  if (--exploring_ < kExploreDecodes - 1) trial_.Add(spt);  // the look's first decode warms up
  if (exploring_ > 0) return;
  samples_[opt] += kExploreDecodes;
  const double tried = trial_.Median();
  recent_[opt] = trial_;
  // 3 % hysteresis, so that two choices within noise of each other do not flap
  const bool switched = tried < recent_[choice_].Median() * 0.97;
  if (switched) choice_ = opt;
  const Option other = choice_ == kFull ? kOne : kFull;
  const double cost = recent_[other].Median() * tokens * kExploreDecodes;
  // a new choice is checked again soon, then less and less often while it keeps winning; a first
  // look that kept the choice goes straight to the settled rate (under load each early look at every
  // thread cost stories260K ~13 ms, a tenth of a 256-token generation)
  share_ = switched ? kFirstShare : share_ == 0 ? kCostShare : std::min(share_ * 5, kCostShare);
  const double wait = std::clamp(share_ * cost, switched ? kConfirmS : kMinIntervalS, kMaxIntervalS);
  next_explore_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
  // batches of more than 16 tokens also wait for their own decodes to have taken that long
  next_busy_s_ = tokens > 16 ? busy_s_ + std::min(share_ * cost, kMaxIntervalS) : 0;
}

}  // namespace llama_native
