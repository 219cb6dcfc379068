// Which vector instruction set the CPU kernels use, chosen once at load.
//
// Every fast path is compiled for its ISA with a target attribute, so one
// binary runs everywhere; LMKIT_CPU_ISA=scalar|avx2|avx512 caps the choice
// (tests use it to exercise each path on one machine).
#pragma once

#include <string>
#include <vector>

namespace lmkit::cpu {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// The ISA the kernels dispatch to now.
Isa activeIsa();
// The best ISA this CPU (and OS) supports.
Isa bestIsa();
const char* isaName(Isa isa);
// Parses "scalar" | "avx2" | "avx512"; returns false on an unknown name.
bool parseIsa(const std::string& name, Isa* out);
// Selects an ISA; returns false (and changes nothing) if the CPU lacks it.
bool setActiveIsa(Isa isa);
// Names of the ISAs this machine can run, weakest first.
std::vector<std::string> availableIsas();
// Why the active ISA is what it is (env override, hardware, ...).
const std::string& isaReason();
// AVX512-BF16 (vdpbf16ps, vcvtne2ps2bf16) on this CPU; the bf16 GEMM uses it
// only while the active ISA is avx512.
bool hasAvx512Bf16();
// AMX-BF16 tiles (tdpbf16ps) usable by this process: the CPU has them, the OS
// saves their state, and Linux granted the permission a process must ask for
// (arch_prctl ARCH_REQ_XCOMP_PERM, asked once here).
bool hasAmxBf16();
// Whether the bf16 GEMM may use AMX (while the active ISA is avx512): on by
// default where hasAmxBf16(), off with LMKIT_CPU_AMX=0 or setAmxAllowed(false)
// (tests use it to run the AVX512-BF16 path on an AMX CPU too).
bool amxAllowed();
// Returns false (and changes nothing) when enabling it on a CPU without AMX.
bool setAmxAllowed(bool allowed);

}  // namespace lmkit::cpu

// Function attributes that let one translation unit hold several ISA paths.
#define LMKIT_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LMKIT_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define LMKIT_TARGET_AVX512BF16 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c")))
#define LMKIT_TARGET_AMX \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,amx-tile,amx-bf16,avx2,fma,f16c")))
