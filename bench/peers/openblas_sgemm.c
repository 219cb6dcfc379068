/* OpenBLAS sgemm peer for lmkit's GEMM benchmark.
 *
 * Usage: openblas_sgemm M N K transA transB reps
 *   transA/transB: 0 or 1 (row-major op(A) is M×K, op(B) is K×N, as lmkit.gemm)
 * Prints one JSON line: {"m":..,"n":..,"k":..,"transA":..,"transB":..,
 *   "reps":..,"threads":..,"seconds":best,"gflops":2·M·N·K/best/1e9}
 * Threads come from OPENBLAS_NUM_THREADS. One untimed warm-up call first.
 * Build: cc -O2 -o openblas_sgemm openblas_sgemm.c -lopenblas
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int parseInt(const char* s, const char* name, long lo) {
  char* end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > (1L << 20)) {
    fprintf(stderr, "openblas_sgemm: bad %s '%s'\n", name, s);
    exit(2);
  }
  return (int)v;
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: openblas_sgemm M N K transA transB reps\n");
    return 2;
  }
  const int m = parseInt(argv[1], "M", 1), n = parseInt(argv[2], "N", 1), k = parseInt(argv[3], "K", 1);
  const int ta = parseInt(argv[4], "transA", 0), tb = parseInt(argv[5], "transB", 0);
  const int reps = parseInt(argv[6], "reps", 1);
  if (ta > 1 || tb > 1) {
    fprintf(stderr, "openblas_sgemm: transA/transB must be 0 or 1\n");
    return 2;
  }
  float* a = malloc(sizeof(float) * (size_t)m * k);
  float* b = malloc(sizeof(float) * (size_t)k * n);
  float* c = malloc(sizeof(float) * (size_t)m * n);
  if (!a || !b || !c) {
    fprintf(stderr, "openblas_sgemm: out of memory\n");
    return 1;
  }
  unsigned s = 12345u;
  for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 0.5f;
  for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 0.5f;
  for (size_t i = 0; i < (size_t)m * n; i++) c[i] = 0.0f;
  const int lda = ta ? m : k, ldb = tb ? k : n;
  const enum CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans, opB = tb ? CblasTrans : CblasNoTrans;
  double best = 1e30;
  for (int r = 0; r <= reps; r++) {
    const double t0 = now();
    cblas_sgemm(CblasRowMajor, opA, opB, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    const double dt = now() - t0;
    if (r > 0 && dt < best) best = dt;  /* r = 0 is the warm-up */
  }
  printf("{\"m\":%d,\"n\":%d,\"k\":%d,\"transA\":%d,\"transB\":%d,\"reps\":%d,\"threads\":%d,"
         "\"seconds\":%.9f,\"gflops\":%.3f}\n",
         m, n, k, ta, tb, reps, openblas_get_num_threads(), best, 2.0 * m * n * k / best / 1e9);
  free(a);
  free(b);
  free(c);
  return 0;
}
