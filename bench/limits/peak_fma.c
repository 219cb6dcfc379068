// Peak single-precision FMA throughput of this CPU, the ceiling for GEMM and
// attention figures.
//
// Each thread runs ACC independent FMA chains (acc = acc*mul + add) on full
// vector registers. A chain issues one FMA per latency (4 cycles on Intel), so
// 2 FMA ports need at least 2*4 = 8 chains in flight; 16 leaves margin for
// 5-cycle parts. FLOPs counted: 2 per lane per FMA.
//
// Usage: peak_fma [--bf16] [threads...]          (default: 1 2)
// Prints one JSON line: {"bench":"peak_fma","isa":...,"results":[{threads,gflops,seconds}]}
// The ISA is picked at run time (AVX-512 > AVX2+FMA); PEAK_FMA_ISA=avx2 forces AVX2.
// --bf16 measures AVX512-BF16's dot product instead (vdpbf16ps: 32 bf16
// products summed into 16 fp32 lanes, 4 FLOPs per lane), the ceiling of a
// bf16 GEMM, which the fp32 FMA peak is not.
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACC 16

// The chains are written out, one statement each, so each lives in its own
// register: STEP(r) for r = 0 … 11 or 0 … 15.
#define REPEAT12(STEP) \
  STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10) STEP(11)
#define REPEAT16(STEP) REPEAT12(STEP) STEP(12) STEP(13) STEP(14) STEP(15)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// The sum is returned so the compiler cannot drop the chains; mul < 1 keeps
// every value bounded (acc -> add / (1 - mul)) and far from denormals.
__attribute__((target("avx512f"))) static float chainsAvx512(long iters, float seed) {
  const __m512 mul = _mm512_set1_ps(0.9999999f);
  const __m512 add = _mm512_set1_ps(1e-7f);
  __m512 acc[ACC];
  for (int r = 0; r < ACC; ++r) acc[r] = _mm512_set1_ps(seed + (float)r);
  for (long i = 0; i < iters; ++i) {
#define FMA_STEP(r) acc[r] = _mm512_fmadd_ps(acc[r], mul, add);
    REPEAT16(FMA_STEP)
#undef FMA_STEP
  }
  __m512 sum = acc[0];
  for (int r = 1; r < ACC; ++r) sum = _mm512_add_ps(sum, acc[r]);
  return _mm512_reduce_add_ps(sum);
}

// AVX2 has 16 ymm registers: 12 chains + 2 constants fit without spills and
// still cover 2 ports x 5 cycles.
#define ACC2 12
__attribute__((target("avx2,fma"))) static float chainsAvx2(long iters, float seed) {
  const __m256 mul = _mm256_set1_ps(0.9999999f);
  const __m256 add = _mm256_set1_ps(1e-7f);
  __m256 acc[ACC2];
  for (int r = 0; r < ACC2; ++r) acc[r] = _mm256_set1_ps(seed + (float)r);
  for (long i = 0; i < iters; ++i) {
#define FMA_STEP(r) acc[r] = _mm256_fmadd_ps(acc[r], mul, add);
    REPEAT12(FMA_STEP)
#undef FMA_STEP
  }
  __m256 sum = acc[0];
  for (int r = 1; r < ACC2; ++r) sum = _mm256_add_ps(sum, acc[r]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  float s = 0.0f;
  for (int l = 0; l < 8; ++l) s += lanes[l];
  return s;
}

// vdpbf16ps chains: acc += a·b over pairs of bf16; the tiny products keep the
// sums far from overflow for any run length.
__attribute__((target("avx512f,avx512bf16"))) static float chainsBf16(long iters, float seed) {
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(1e-4f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(1e-4f));
  __m512 acc[ACC];
  for (int r = 0; r < ACC; ++r) acc[r] = _mm512_set1_ps(seed + (float)r);
  for (long i = 0; i < iters; ++i) {
#define DOT_STEP(r) acc[r] = _mm512_dpbf16_ps(acc[r], a, b);
    REPEAT16(DOT_STEP)
#undef DOT_STEP
  }
  __m512 sum = acc[0];
  for (int r = 1; r < ACC; ++r) sum = _mm512_add_ps(sum, acc[r]);
  return _mm512_reduce_add_ps(sum);
}

static int useAvx512;
static int useBf16;
static volatile float sink;

typedef struct {
  long iters;
  float seed;
} Job;

static void* worker(void* arg) {
  const Job* job = (const Job*)arg;
  sink = useBf16      ? chainsBf16(job->iters, job->seed)
         : useAvx512 ? chainsAvx512(job->iters, job->seed)
                     : chainsAvx2(job->iters, job->seed);
  return NULL;
}

// Wall time for `threads` threads each running `iters` loop iterations.
static double runOnce(int threads, long iters) {
  pthread_t tid[256];
  Job jobs[256];
  const double t0 = now();
  for (int t = 0; t < threads; ++t) {
    jobs[t].iters = iters;
    jobs[t].seed = (float)t;
    pthread_create(&tid[t], NULL, worker, &jobs[t]);
  }
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
  return now() - t0;
}

int main(int argc, char** argv) {
  __builtin_cpu_init();
  const char* force = getenv("PEAK_FMA_ISA");
  const int hasAvx512 = __builtin_cpu_supports("avx512f");
  const int hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!hasAvx2 && !hasAvx512) {
    printf("{\"bench\":\"peak_fma\",\"error\":\"CPU has neither AVX-512 nor AVX2+FMA\"}\n");
    return 1;
  }
  int firstCount = 1;
  if (argc > 1 && strcmp(argv[1], "--bf16") == 0) {
    if (!__builtin_cpu_supports("avx512bf16")) {
      printf("{\"bench\":\"peak_fma\",\"error\":\"CPU has no AVX512-BF16\"}\n");
      return 1;
    }
    useBf16 = 1;
    firstCount = 2;
  }
  useAvx512 = hasAvx512 && !(force && strcmp(force, "avx2") == 0);
  const int lanes = useAvx512 ? 16 : 8;
  const int chains = useAvx512 ? ACC : ACC2;
  // FLOPs per lane per instruction: an FMA is 2, a bf16 pair dot product 4.
  const int flopsPerLane = useBf16 ? 4 : 2;

  int threadCounts[64];
  int nCounts = 0;
  for (int i = firstCount; i < argc && nCounts < 64; ++i) {
    const int t = atoi(argv[i]);
    if (t < 1 || t > 256) {
      fprintf(stderr, "peak_fma: thread count must be 1..256, got '%s'\n", argv[i]);
      return 2;
    }
    threadCounts[nCounts++] = t;
  }
  if (nCounts == 0) {
    threadCounts[0] = 1;
    threadCounts[1] = 2;
    nCounts = 2;
  }

  // Calibrate on one thread to about 0.15 s per run (long enough to reach the
  // steady AVX-512 frequency, short enough for a 1-minute quick bench).
  long iters = 1L << 20;
  for (;;) {
    const double s = runOnce(1, iters);
    if (s > 0.02) {
      iters = (long)((double)iters * 0.15 / s) + 1;
      break;
    }
    iters *= 4;
  }

  printf("{\"bench\":\"peak_fma\",\"isa\":\"%s\",\"vector_bits\":%d,\"chains\":%d,\"results\":[",
         useBf16 ? "avx512bf16" : useAvx512 ? "avx512" : "avx2", lanes * 32, chains);
  for (int c = 0; c < nCounts; ++c) {
    const int threads = threadCounts[c];
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      const double s = runOnce(threads, iters);
      if (s < best) best = s;
    }
    const double flops = (double)flopsPerLane * lanes * chains * (double)iters * threads;
    printf("%s{\"threads\":%d,\"gflops\":%.2f,\"seconds\":%.6f}", c ? "," : "", threads,
           flops / best * 1e-9, best);
  }
  printf("]}\n");
  return 0;
}
