// The emulated launch: blocks in order, the threads of a block as fibers
// under a cooperative scheduler (see cuda_emu.h for the model).
//
// A fiber runs until it blocks at a synchronisation point; each scheduler
// round resumes every ready fiber once, in a freshly shuffled order (a fixed
// seed, so a run is reproducible). Block barrier: generation counter plus an
// arrival count; it opens when every thread of the block has arrived. Warp
// collective: each lane deposits its value in a double-buffered slot of the
// generation, the last lane to arrive opens it; a lane cannot reach the next
// generation's slot before every lane has read this one, because the next
// collective waits for all lanes again. A round in which no fiber could run
// while some have not finished is a deadlock: the launch fails and names
// where the threads wait.
#include "cuda/emulation/cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

cudaError_t lmkitEmuSetLaunchError(cudaError_t error, const std::string& message);

namespace lmkit::emu {
namespace {

constexpr size_t kStackBytes = 128 * 1024;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxDynamicShared = 48 * 1024;

enum class Wait { None, Block, Warp, Done };

struct Fiber {
  ucontext_t context;
  ThreadState state;
  Wait wait = Wait::None;
  uint64_t waitGen = 0;
  int warp = 0, lane = 0;
};

struct Warp {
  unsigned live = 0;     // lanes that exist
  unsigned arrived = 0;  // lanes deposited in this generation
  uint64_t gen = 0;
  uint64_t slots[2][kWarpSize];
  const char* what[2] = {nullptr, nullptr};
};

struct Block {
  std::vector<Fiber>* fibers;
  std::vector<Warp> warps;
  ucontext_t scheduler;
  Fiber* current = nullptr;
  int threads = 0;
  int arrived = 0;  // at the block barrier, this generation
  uint64_t gen = 0;
  int predicateCount[2] = {0, 0};
  int pendingCount = 0;
  bool faulted = false;
  std::string fault;
  KernelBody body;
  void* ctx;
};

// Per OS thread: the running block and fiber, reusable stacks and fibers.
thread_local Block* tlBlock = nullptr;
thread_local const ThreadState* tlSelf = nullptr;
thread_local std::vector<void*> tlStacks;
thread_local std::vector<Fiber> tlFibers;
thread_local std::vector<unsigned char> tlDynamicShared;
thread_local std::string tlFaultMessage;

void* stackAt(size_t i) {
  while (tlStacks.size() <= i) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* region = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return nullptr;
    mprotect(region, page, PROT_NONE);  // guard page: an overflow faults instead of corrupting
    tlStacks.push_back(static_cast<char*>(region) + page);
  }
  return tlStacks[i];
}

std::string describe(const Fiber& f) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "thread (%u,%u,%u) of block (%u,%u,%u)", f.state.thread.x, f.state.thread.y,
                f.state.thread.z, f.state.block.x, f.state.block.y, f.state.block.z);
  return buf;
}

void yieldToScheduler() {
  Block& b = *tlBlock;
  swapcontext(&b.current->context, &b.scheduler);
}

// Stops the running fiber for good; the scheduler abandons the block.
[[noreturn]] void fault(const std::string& message) {
  Block& b = *tlBlock;
  if (!b.faulted) {
    b.faulted = true;
    b.fault = describe(*b.current) + ": " + message;
  }
  b.current->wait = Wait::Done;
  swapcontext(&b.current->context, &b.scheduler);
  __builtin_unreachable();
}

void fiberEntry() {
  Block& b = *tlBlock;
  b.body(b.ctx);
  if (b.arrived > 0)
    fault("exited while " + std::to_string(b.arrived) + " thread(s) of its block wait at __syncthreads");
  for (const Fiber& other : *b.fibers)
    if (other.wait == Wait::Warp && other.warp == b.current->warp)
      fault("exited while lanes of its warp wait at a warp collective");
  b.current->wait = Wait::Done;
  // Returning resumes uc_link, the scheduler.
}

// xorshift64*: the shuffle of each round.
uint64_t nextRandom(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ull;
}

std::string deadlockReport(const Block& b) {
  int atBarrier = 0, atWarp = 0;
  const Fiber* example = nullptr;
  for (const Fiber& f : *b.fibers) {
    if (f.wait == Wait::Block) atBarrier++;
    if (f.wait == Wait::Warp) {
      atWarp++;
      example = &f;
    }
  }
  std::string s = "deadlock in block (" + std::to_string((*b.fibers)[0].state.block.x) + "," +
                  std::to_string((*b.fibers)[0].state.block.y) + "," +
                  std::to_string((*b.fibers)[0].state.block.z) + "): " + std::to_string(atBarrier) +
                  " thread(s) wait at __syncthreads, " + std::to_string(atWarp) + " at a warp collective";
  if (example) s += " (e.g. " + describe(*example) + ")";
  return s + "; a barrier must be reached by every thread of the block, a warp collective by every live lane";
}

// Runs one block to completion; false on a fault (message in b.fault).
bool runBlock(Block& b, uint64_t& seed) {
  std::vector<Fiber>& fibers = *b.fibers;
  for (size_t i = 0; i < fibers.size(); ++i) {
    Fiber& f = fibers[i];
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = stackAt(i);
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &b.scheduler;
    f.wait = Wait::None;
    if (!f.context.uc_stack.ss_sp) {
      b.fault = "could not map a fiber stack";
      return false;
    }
    makecontext(&f.context, fiberEntry, 0);
  }
  std::vector<int> order(fibers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  size_t done = 0;
  while (done < fibers.size()) {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[nextRandom(seed) % i]);
    bool ran = false;
    for (int index : order) {
      Fiber& f = fibers[static_cast<size_t>(index)];
      if (f.wait != Wait::None) continue;
      ran = true;
      b.current = &f;
      tlSelf = &f.state;
      swapcontext(&b.scheduler, &f.context);
      if (b.faulted) return false;
      if (f.wait == Wait::Done) done++;
    }
    if (!ran && done < fibers.size()) {
      b.fault = deadlockReport(b);
      return false;
    }
  }
  return true;
}

}  // namespace

const ThreadState& self() { return *tlSelf; }

const char* lastFaultMessage() { return tlFaultMessage.c_str(); }

void* dynamicShared() { return tlDynamicShared.data(); }

unsigned liveLaneMask() { return tlBlock->warps[static_cast<size_t>(tlBlock->current->warp)].live; }

namespace {

// Arrives at the block barrier with `predicate`; returns how many threads
// of the block passed a non-zero one.
int barrier(int predicate) {
  Block& b = *tlBlock;
  Fiber& f = *b.current;
  const uint64_t gen = b.gen;
  b.pendingCount += predicate != 0;
  if (++b.arrived == b.threads) {
    b.predicateCount[gen & 1] = b.pendingCount;
    b.pendingCount = 0;
    b.arrived = 0;
    b.gen++;
    for (Fiber& other : *b.fibers)
      if (other.wait == Wait::Block) other.wait = Wait::None;
  } else {
    f.wait = Wait::Block;
    f.waitGen = gen;
    yieldToScheduler();
  }
  return b.predicateCount[gen & 1];
}

}  // namespace

void syncthreads() { barrier(0); }
int syncthreadsOr(int predicate) { return barrier(predicate) > 0; }
int syncthreadsCount(int predicate) { return barrier(predicate); }

uint64_t warpExchange(unsigned mask, uint64_t bits, int source, const char* what) {
  Block& b = *tlBlock;
  Fiber& f = *b.current;
  Warp& w = b.warps[static_cast<size_t>(f.warp)];
  if ((mask & w.live) != w.live)
    fault(std::string(what) + " with mask 0x" + [&] {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08x", mask);
      return std::string(buf);
    }() + " leaves out live lanes of its warp (the emulation supports full-warp collectives)");
  const uint64_t gen = w.gen;
  const int slot = static_cast<int>(gen & 1);
  if (w.arrived == 0) w.what[slot] = what;
  else if (std::strcmp(w.what[slot], what) != 0)
    fault(std::string("calls ") + what + " while another lane of its warp is in " + w.what[slot]);
  w.slots[slot][f.lane] = bits;
  w.arrived |= 1u << f.lane;
  if (w.arrived == w.live) {
    w.arrived = 0;
    w.gen++;
    for (Fiber& other : *b.fibers)
      if (other.wait == Wait::Warp && other.warp == f.warp) other.wait = Wait::None;
  } else {
    f.wait = Wait::Warp;
    f.waitGen = gen;
    yieldToScheduler();
  }
  if (source < 0) return bits;
  if (source >= kWarpSize || !((w.live >> source) & 1u))
    fault(std::string(what) + " reads lane " + std::to_string(source) + ", which does not exist in this warp");
  return w.slots[slot][source];
}

void syncwarp(unsigned mask) { warpExchange(mask, 0, -1, "__syncwarp"); }

unsigned warpBallot(unsigned mask, bool predicate) {
  Block& b = *tlBlock;
  const int lane = b.current->lane;
  unsigned result = 0;
  // One exchange, then every lane reads every deposit of the same generation.
  Warp& w = b.warps[static_cast<size_t>(b.current->warp)];
  const uint64_t gen = w.gen;
  warpExchange(mask, predicate ? 1u : 0u, -1, "__ballot_sync");
  const int slot = static_cast<int>(gen & 1);
  for (int l = 0; l < kWarpSize; ++l)
    if (((w.live >> l) & 1u) && w.slots[slot][l]) result |= 1u << l;
  (void)lane;
  return result;
}

uint32_t roundTf32(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u) return bits & ~0x1fffu;  // inf/NaN keep their class
  return (bits + 0x1000u) & ~0x1fffu;  // on the magnitude bits: half away from zero
}

namespace {
struct MmaFragments {
  const uint32_t* a;
  const uint32_t* b;
  const float* c;
};
float asFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

void mmaTf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  Block& blk = *tlBlock;
  Warp& w = blk.warps[static_cast<size_t>(blk.current->warp)];
  if (w.live != 0xffffffffu) fault("mma.sync needs a full warp of 32 threads");
  // Each lane's fragments stay on its stack until the closing __syncwarp below.
  const MmaFragments mine{a, b, c};
  const uint64_t gen = w.gen;
  warpExchange(0xffffffffu, toBits(&mine), -1, "mma.sync.m16n8k8.tf32");
  const int slot = static_cast<int>(gen & 1);
  float A[16][8], B[8][8], C[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const auto* f = fromBits<const MmaFragments*>(w.slots[slot][lane]);
    const int g = lane / 4, t = lane % 4;
    A[g][t] = asFloat(f->a[0]);
    A[g + 8][t] = asFloat(f->a[1]);
    A[g][t + 4] = asFloat(f->a[2]);
    A[g + 8][t + 4] = asFloat(f->a[3]);
    B[t][g] = asFloat(f->b[0]);
    B[t + 4][g] = asFloat(f->b[1]);
    C[g][2 * t] = f->c[0];
    C[g][2 * t + 1] = f->c[1];
    C[g + 8][2 * t] = f->c[2];
    C[g + 8][2 * t + 1] = f->c[3];
  }
  const int lane = blk.current->lane, g = lane / 4, t = lane % 4;
  const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
  float out[4];
  for (int q = 0; q < 4; ++q) {
    float acc = C[rows[q]][cols[q]];
    for (int k = 0; k < 8; ++k) acc = std::fma(A[rows[q]][k], B[k][cols[q]], acc);
    out[q] = acc;
  }
  syncwarp(0xffffffffu);  // every lane has read every fragment
  for (int q = 0; q < 4; ++q) d[q] = out[q];
}

void run(const char* name, dim3 grid, dim3 block, size_t shmem, KernelBody body, void* ctx) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || block.z > 64 || blocks == 0 || grid.y > 65535 ||
      grid.z > 65535) {
    lmkitEmuSetLaunchError(cudaErrorInvalidConfiguration,
                           std::string(name) + ": invalid launch configuration (grid " + std::to_string(grid.x) +
                               "x" + std::to_string(grid.y) + "x" + std::to_string(grid.z) + ", block " +
                               std::to_string(block.x) + "x" + std::to_string(block.y) + "x" +
                               std::to_string(block.z) + ")");
    return;
  }
  if (shmem > kMaxDynamicShared) {
    lmkitEmuSetLaunchError(cudaErrorInvalidValue, std::string(name) + ": " + std::to_string(shmem) +
                                                      " bytes of dynamic shared memory exceed 48 KiB");
    return;
  }
  if (tlBlock != nullptr) {
    lmkitEmuSetLaunchError(cudaErrorLaunchFailure, std::string(name) + ": launched from inside a kernel");
    return;
  }
  tlFibers.resize(threads);
  Block b;
  b.fibers = &tlFibers;
  b.threads = static_cast<int>(threads);
  b.body = body;
  b.ctx = ctx;
  const size_t warps = (threads + kWarpSize - 1) / kWarpSize;
  b.warps.assign(warps, Warp{});
  for (size_t w = 0; w < warps; ++w) {
    const uint64_t lanes = std::min<uint64_t>(kWarpSize, threads - w * kWarpSize);
    b.warps[w].live = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
  }
  tlDynamicShared.assign(shmem + 16, 0xFF);
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  tlBlock = &b;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        unsigned linear = 0;
        for (unsigned tz = 0; tz < block.z; ++tz)
          for (unsigned ty = 0; ty < block.y; ++ty)
            for (unsigned tx = 0; tx < block.x; ++tx, ++linear) {
              Fiber& f = tlFibers[linear];
              f.state = ThreadState{{tx, ty, tz}, {bx, by, bz}, block, grid};
              f.warp = static_cast<int>(linear / kWarpSize);
              f.lane = static_cast<int>(linear % kWarpSize);
            }
        b.arrived = 0;
        b.pendingCount = 0;
        for (Warp& w : b.warps) w.arrived = 0;
        if (shmem) std::memset(tlDynamicShared.data(), 0xFF, shmem);
        if (!runBlock(b, seed)) {
          tlBlock = nullptr;
          tlSelf = nullptr;
          tlFaultMessage = std::string(name) + ": " + b.fault;
          lmkitEmuSetLaunchError(cudaErrorLaunchFailure, tlFaultMessage);
          return;
        }
      }
  tlBlock = nullptr;
  tlSelf = nullptr;
}

}  // namespace lmkit::emu
