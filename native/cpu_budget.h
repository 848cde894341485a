// The process's cores, shared by every context's decodes.
//
// ggml's CPU threads meet at a spinning barrier after each graph node. When two contexts decode
// at once with as many threads as there are cores, the threads outnumber the cores, a preempted
// thread holds up its barrier for a whole time slice, and both contexts crawl: on 2 cores two
// contexts generating at once with 2 threads each made 61 tokens/s together where one alone made
// 417 (bench-134m Q4_0; 4 tokens/s with threadPoll 0). So every decode first leases threads from
// a process-wide budget of the cores this process may run on. A context that is generating (or
// embedding) counts as a user of the budget; each decode gets at most its fair share (cores /
// users, at least one), never more than is free, and waits in arrival order when nothing is free,
// except that single-threaded leases (no barrier to stall) may outnumber the cores while no lease
// of several threads is out. One busy context gets every core; two on two cores run side by side
// with one thread each. ContextHandle::Decode (context.cpp) applies the grant to llama.cpp.
#pragma once

namespace llama_native {

class CpuLease {
 public:
  // Blocks until it is this caller's turn and a core is free (or, for a single thread, no lease of
  // several threads is out); leases min(wanted, fair share, free) threads, at least one.
  explicit CpuLease(int wanted);
  ~CpuLease();
  CpuLease(const CpuLease&) = delete;
  CpuLease& operator=(const CpuLease&) = delete;

  int threads() const { return units_; }

  // Whether a decode is waiting for cores right now.
  static bool Contended();
  // The cores the budget shares out (the CPUs this process may run on).
  static int Cores();

 private:
  int units_ = 0;
};

// Counts a context as a user of the budget while it lives (an engine with streams, an embedding).
class CpuUser {
 public:
  CpuUser();
  ~CpuUser();
  CpuUser(const CpuUser&) = delete;
  CpuUser& operator=(const CpuUser&) = delete;
};

}  // namespace llama_native
