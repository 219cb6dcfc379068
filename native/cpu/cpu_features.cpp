// CPU feature detection and the ISA switch behind the kernels' dispatch.
#include "cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>

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
