// Stress test of the CPU thread pool (native/cpu/thread_pool.cpp), built and
// run by test/runtime/thread_pool.test.ts. Back-to-back loops of varying task
// counts, the pattern of a GEMM (a few packing tasks, then many product
// tasks), each checking on return that every task of the loop ran exactly
// once and that none is still running: a worker must never claim a task of
// the next loop from a stale view of the previous one.
//
// Usage: thread_pool_stress <threads> <loops>
// Prints one line "loops L threads T: duplicated D, missing M, still running R"
// and exits 1 when any count is not zero.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cpu/thread_pool.h"

namespace {

struct Loop {
  std::vector<std::atomic<int>>* runs;
  std::atomic<int>* inFlight;
  int spin;  // busy work per task, so tasks overlap
};

void task(void* ctx, int64_t t) {
  auto* loop = static_cast<Loop*>(ctx);
  loop->inFlight->fetch_add(1);
  volatile int sink = 0;
  for (int i = 0; i < loop->spin; ++i) sink = sink + i;
  (*loop->runs)[t].fetch_add(1);
  loop->inFlight->fetch_sub(1);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const long loops = argc > 2 ? std::atol(argv[2]) : 200000;
  lmkit::cpu::setNumThreads(threads);
  // Task counts in the order a few GEMMs and elementwise ops ask for them.
  const int counts[] = {2, 16, 3, 48, 2, 7, 64, 5, 2, 33};
  std::vector<std::atomic<int>> runs(64);
  std::atomic<int> inFlight{0};
  long duplicated = 0, missing = 0, stillRunning = 0;
  for (long l = 0; l < loops; ++l) {
    const int tasks = counts[l % 10];
    for (int t = 0; t < tasks; ++t) runs[t].store(0);
    Loop loop{&runs, &inFlight, static_cast<int>(l % 7) * 20};
    lmkit::cpu::runParallel(tasks, task, &loop);
    if (inFlight.load() != 0) ++stillRunning;
    for (int t = 0; t < tasks; ++t) {
      const int n = runs[t].load();
      if (n > 1) ++duplicated;
      if (n < 1) ++missing;
    }
    // A task still running would write after the checks: wait it out so the
    // next loop's counters start clean.
    while (inFlight.load() != 0) {
    }
  }
  std::printf("loops %ld threads %d: duplicated %ld, missing %ld, still running %ld\n", loops, threads, duplicated,
              missing, stillRunning);
  return duplicated == 0 && missing == 0 && stillRunning == 0 ? 0 : 1;
}
