// CPU feature detection and the ISA switch behind the kernels' dispatch.
#include "cpu/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace lmkit::cpu {
namespace {

Isa detectBest() {
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return Isa::Avx2;
  return Isa::Scalar;
}

struct IsaState {
  Isa best;
  std::atomic<int> active;
  std::string reason;

  IsaState() : best(detectBest()), active(static_cast<int>(best)) {
    reason = std::string("best supported by this CPU");
    const char* env = std::getenv("LMKIT_CPU_ISA");
    if (env == nullptr || *env == '\0') return;
    Isa requested;
    if (!parseIsa(env, &requested)) {
      reason = std::string("LMKIT_CPU_ISA=") + env +
               " is not one of scalar, avx2, avx512; using the best supported";
    } else if (requested > best) {
      reason = std::string("LMKIT_CPU_ISA=") + env +
               " is not supported by this CPU; using " + isaName(best);
    } else {
      active = static_cast<int>(requested);
      reason = std::string("forced by LMKIT_CPU_ISA=") + env;
    }
  }
};

IsaState& state() {
  static IsaState s;
  return s;
}

}  // namespace

Isa activeIsa() { return static_cast<Isa>(state().active.load(std::memory_order_relaxed)); }
Isa bestIsa() { return state().best; }
const std::string& isaReason() { return state().reason; }

bool hasAvx512Bf16() {
  static const bool has = [] {
    __builtin_cpu_init();
    return bestIsa() == Isa::Avx512 && __builtin_cpu_supports("avx512bf16");
  }();
  return has;
}

namespace {

// CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; XCR0 bits 17 and 18:
// the OS saves the tile configuration and data. Linux (5.16+) also wants
// each process to ask for the tile data state before its first use.
bool detectAmxBf16() {
  // The AMX path packs with vcvtne2ps2bf16.
  if (!hasAvx512Bf16()) return false;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  if (!(edx & (1u << 22)) || !(edx & (1u << 24))) return false;
  unsigned xcr0Low, xcr0High;
  __asm__("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
  if ((xcr0Low & (3u << 17)) != (3u << 17)) return false;
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

std::atomic<bool>& amxSwitch() {
  static std::atomic<bool> allowed{[] {
    const char* env = std::getenv("LMKIT_CPU_AMX");
    return !(env != nullptr && std::strcmp(env, "0") == 0);
  }()};
  return allowed;
}

}  // namespace

bool hasAmxBf16() {
  static const bool has = detectAmxBf16();
  return has;
}

bool amxAllowed() { return hasAmxBf16() && amxSwitch().load(std::memory_order_relaxed); }

bool setAmxAllowed(bool allowed) {
  if (allowed && !hasAmxBf16()) return false;
  amxSwitch().store(allowed, std::memory_order_relaxed);
  return true;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

bool parseIsa(const std::string& name, Isa* out) {
  if (name == "scalar") *out = Isa::Scalar;
  else if (name == "avx2") *out = Isa::Avx2;
  else if (name == "avx512") *out = Isa::Avx512;
  else return false;
  return true;
}

bool setActiveIsa(Isa isa) {
  if (isa > state().best) return false;
  state().active.store(static_cast<int>(isa), std::memory_order_relaxed);
  state().reason = std::string("set by setCpuIsa('") + isaName(isa) + "')";
  return true;
}

std::vector<std::string> availableIsas() {
  std::vector<std::string> names;
  for (int i = 0; i <= static_cast<int>(state().best); ++i)
    names.emplace_back(isaName(static_cast<Isa>(i)));
  return names;
}

}  // namespace lmkit::cpu
