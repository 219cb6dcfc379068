// lmkit's own thread pool: a fixed set of workers that run the tasks of one
// parallel loop at a time.
//
// Determinism: callers split work into tasks whose boundaries do not depend on
// the thread count, and each task writes its own outputs, so results are
// bitwise the same for any number of threads. Workers spin briefly, then
// sleep on a condition variable: on a shared 2-core machine a pure spin
// barrier starves whoever else runs there.
#pragma once

#include <cstdint>

namespace lmkit::cpu {

int numThreads();
// n ≥ 1. Waits for a loop in flight to finish before resizing.
void setNumThreads(int n);
// Threads the pool starts with: LMKIT_NUM_THREADS, else the cores we may use.
int defaultNumThreads();

// True on a thread running a task of a parallel loop: its own parallel
// loops run inline, so work cut per thread would run one piece after another.
bool insideParallelLoop();

using TaskFn = void (*)(void* ctx, int64_t task);
// Runs fn(ctx, t) for every t in [0, tasks), spread over the pool; returns
// when all are done. Nested calls, and calls made while another thread owns
// the pool, run inline on the calling thread.
void runParallel(int64_t tasks, TaskFn fn, void* ctx);

// parallelFor(tasks, [&](int64_t t) { ... })
template <class Fn>
void parallelFor(int64_t tasks, Fn&& fn) {
  if (tasks <= 0) return;
  if (tasks == 1) {
    fn(int64_t{0});
    return;
  }
  runParallel(
      tasks, [](void* ctx, int64_t t) { (*static_cast<Fn*>(ctx))(t); }, &fn);
}

// Splits [0, n) into chunks of `grain` (the last may be shorter) and calls
// fn(begin, end) for each, in parallel.
template <class Fn>
void parallelRange(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t chunks = (n + grain - 1) / grain;
  parallelFor(chunks, [&](int64_t c) {
    const int64_t begin = c * grain;
    const int64_t end = begin + grain < n ? begin + grain : n;
    fn(begin, end);
  });
}

}  // namespace lmkit::cpu
