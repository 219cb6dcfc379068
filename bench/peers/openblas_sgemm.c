// OpenBLAS sgemm timed on the same shapes as lmkit's gemm: the GEMM peer.
//
// Usage: openblas_sgemm M N K transA transB reps
//   C[M×N] = op(A)·op(B), row-major; transA/transB are 0/1 (or N/T);
//   A is stored M×K (K×M when transposed), B is K×N (N×K when transposed).
// Threads come from OPENBLAS_NUM_THREADS. One untimed warm-up call, then
// `reps` timed calls; prints one JSON line with the best and median seconds
// per call and GFLOP/s (2·M·N·K / best).
// Build: gcc -O2 openblas_sgemm.c -o openblas_sgemm -lopenblas
#define _GNU_SOURCE
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Declared by OpenBLAS's cblas.h but not by the reference cblas.h that
// Debian's alternatives may point at; both are exported by libopenblas.
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpDouble(const void* x, const void* y) {
  const double a = *(const double*)x, b = *(const double*)y;
  return (a > b) - (a < b);
}

static long parseDim(const char* s, const char* name) {
  char* end;
  const long v = strtol(s, &end, 10);
  if (*end != '\0' || v < 1 || v > (1L << 20)) {
    fprintf(stderr, "openblas_sgemm: %s must be an integer in 1..1048576, got '%s'\n", name, s);
    exit(2);
  }
  return v;
}

static int parseTrans(const char* s, const char* name) {
  if (!strcmp(s, "0") || !strcmp(s, "N") || !strcmp(s, "n")) return 0;
  if (!strcmp(s, "1") || !strcmp(s, "T") || !strcmp(s, "t")) return 1;
  fprintf(stderr, "openblas_sgemm: %s must be 0/1 or N/T, got '%s'\n", name, s);
  exit(2);
}

// Uniform values in [-1, 1) from a fixed LCG, so runs are repeatable.
static void fill(float* x, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; ++i) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)(seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: openblas_sgemm M N K transA transB reps\n");
    return 2;
  }
  const long m = parseDim(argv[1], "M"), n = parseDim(argv[2], "N"), k = parseDim(argv[3], "K");
  const int transA = parseTrans(argv[4], "transA"), transB = parseTrans(argv[5], "transB");
  const long reps = parseDim(argv[6], "reps");

  float* a = malloc(sizeof(float) * (size_t)(m * k));
  float* b = malloc(sizeof(float) * (size_t)(k * n));
  float* c = malloc(sizeof(float) * (size_t)(m * n));
  double* times = malloc(sizeof(double) * (size_t)reps);
  if (!a || !b || !c || !times) {
    fprintf(stderr, "openblas_sgemm: out of memory\n");
    return 1;
  }
  fill(a, (size_t)(m * k), 1);
  fill(b, (size_t)(k * n), 2);
  memset(c, 0, sizeof(float) * (size_t)(m * n));

  const int lda = transA ? (int)m : (int)k;
  const int ldb = transB ? (int)k : (int)n;
  const enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
  const enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;

  cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, 1.0f, a, lda, b, ldb, 0.0f, c, (int)n);
  for (long r = 0; r < reps; ++r) {
    const double t0 = now();
    cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, 1.0f, a, lda, b, ldb, 0.0f, c,
                (int)n);
    times[r] = now() - t0;
  }
  qsort(times, (size_t)reps, sizeof(double), cmpDouble);
  const double best = times[0];
  const double median =
      reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);

  // The config string holds the version ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...");
  // it has no quotes or backslashes to escape.
  printf("{\"m\":%ld,\"n\":%ld,\"k\":%ld,\"transA\":%d,\"transB\":%d,\"reps\":%ld,"
         "\"threads\":%d,\"best_s\":%.9f,\"median_s\":%.9f,\"gflops\":%.3f,"
         "\"config\":\"%s\",\"core\":\"%s\",\"checksum\":%.6g}\n",
         m, n, k, transA, transB, reps, openblas_get_num_threads(), best, median,
         2.0 * (double)m * (double)n * (double)k / best * 1e-9, openblas_get_config(),
         openblas_get_corename(), (double)c[(m * n) / 2]);
  free(a);
  free(b);
  free(c);
  free(times);
  return 0;
}
