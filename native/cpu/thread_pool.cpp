// Thread pool implementation; see thread_pool.h for the contract.
//
// One loop runs at a time. Its task counter packs (generation << 32 | next
// task) into one atomic, and a claim is a CAS on it. A new loop closes the
// counter (nothing claimable) before it rewrites the loop's description and
// opens it at task 0 after: otherwise a worker that read the old counter and
// then the new, larger task count could claim a task of the new loop before it
// was published; the task ran twice, and its extra completion let the loop
// return while a task still ran. The atomics are sequentially consistent, so a
// successful CAS proves that the description read before it is this loop's.
#include "cpu/thread_pool.h"

#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <immintrin.h>

namespace lmkit::cpu {
namespace {

constexpr int kSpinBeforeSleep = 4000;
constexpr int kMaxThreads = 256;
// The task field of the counter when no task may be claimed; loops of this
// many tasks or more run inline.
constexpr uint64_t kClosed = 0xffffffffu;

thread_local bool tlsInsideLoop = false;

class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  int size() const { return threads_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> owner(ownerMutex_);
    stop();
    start(threads);
  }

  void run(int64_t tasks, TaskFn fn, void* ctx) {
    std::unique_lock<std::mutex> owner(ownerMutex_, std::try_to_lock);
    if (!owner.owns_lock() || tlsInsideLoop || threads_ == 1 || static_cast<uint64_t>(tasks) >= kClosed) {
      for (int64_t t = 0; t < tasks; ++t) fn(ctx, t);
      return;
    }
    const uint64_t gen = ++generation_;
    counter_.store((gen << 32) | kClosed);
    fn_.store(fn);
    ctx_.store(ctx);
    tasks_.store(tasks);
    done_.store(0);
    counter_.store(gen << 32);
    {
      std::lock_guard<std::mutex> lock(sleepMutex_);
      wakeSeq_.fetch_add(1, std::memory_order_release);
      if (sleepers_ > 0) wake_.notify_all();
    }
    tlsInsideLoop = true;
    drain();
    tlsInsideLoop = false;
    for (int spins = 0; done_.load(std::memory_order_acquire) < tasks; ++spins) {
      if (spins < kSpinBeforeSleep) _mm_pause();
      else std::this_thread::yield();
    }
  }

 private:
  void start(int threads) {
    threads_ = threads;
    stopping_ = false;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(sleepMutex_);
      stopping_ = true;
      wakeSeq_.fetch_add(1);
      wake_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  // Claims and runs tasks of the current loop until none are left.
  void drain() {
    for (;;) {
      uint64_t v = counter_.load();
      const TaskFn fn = fn_.load();
      void* const ctx = ctx_.load();
      const int64_t tasks = tasks_.load();
      const int64_t next = static_cast<int64_t>(v & kClosed);
      if (next >= tasks) return;
      if (!counter_.compare_exchange_weak(v, v + 1)) continue;
      fn(ctx, next);
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  void workerLoop() {
    tlsInsideLoop = true;  // a task that calls parallelFor runs it inline
    uint64_t seenSeq = 0;
    for (;;) {
      uint64_t seq = wakeSeq_.load(std::memory_order_acquire);
      if (seq == seenSeq) {
        // Nothing new: spin a little (back-to-back loops wake cheaply), then sleep.
        for (int i = 0; i < kSpinBeforeSleep && wakeSeq_.load(std::memory_order_relaxed) == seenSeq &&
                        !stopping_.load(std::memory_order_relaxed);
             ++i)
          _mm_pause();
        std::unique_lock<std::mutex> lock(sleepMutex_);
        sleepers_++;
        wake_.wait(lock, [&] { return stopping_.load() || wakeSeq_.load() != seenSeq; });
        sleepers_--;
        seq = wakeSeq_.load(std::memory_order_acquire);
      }
      if (stopping_.load()) return;
      seenSeq = seq;
      drain();
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex ownerMutex_;  // held by the thread whose loop is running

  // The running loop; read by workers only before a claim that validates them.
  std::atomic<TaskFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int64_t> tasks_{0};
  uint64_t generation_ = 0;
  std::atomic<uint64_t> counter_{0};
  std::atomic<int64_t> done_{0};

  std::mutex sleepMutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> wakeSeq_{0};
  int sleepers_ = 0;
  std::atomic<bool> stopping_{false};
};

int clampThreads(long n) { return n < 1 ? 1 : (n > kMaxThreads ? kMaxThreads : static_cast<int>(n)); }

Pool& pool() {
  static Pool p(defaultNumThreads());
  return p;
}

}  // namespace

int defaultNumThreads() {
  if (const char* env = std::getenv("LMKIT_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1) return clampThreads(n);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return clampThreads(CPU_COUNT(&set));
  return clampThreads(static_cast<long>(std::thread::hardware_concurrency()));
}

int numThreads() { return pool().size(); }
bool insideParallelLoop() { return tlsInsideLoop; }
void setNumThreads(int n) { pool().resize(clampThreads(n)); }
void runParallel(int64_t tasks, TaskFn fn, void* ctx) { pool().run(tasks, fn, ctx); }

}  // namespace lmkit::cpu
