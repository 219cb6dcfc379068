// Sustainable memory bandwidth (McCalpin's STREAM triad), the ceiling for the
// memory-bound kernels (layernorm, PPO loss, cross-entropy).
//
// a[i] = b[i] + s*c[i] over three float arrays far larger than the caches
// (default 64 MB each). Counted bytes per pass: 3 arrays x n x 4 (reads of b
// and c, the store to a), as STREAM counts them; the write-allocate read of a
// is not counted. Each thread owns one contiguous slice and touches it first,
// so pages sit near the thread that uses them. Best of 10 passes.
//
// Usage: stream_triad [--mb MB] [threads...]     (default: --mb 64, threads 1 2)
// Prints one JSON line: {"bench":"stream_triad","mb_per_array":...,"results":[{threads,gbs,seconds}]}
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *a, *b, *c;
static long n;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
  long begin, end;
  int init;
} Slice;

static void* worker(void* arg) {
  const Slice* s = (const Slice*)arg;
  if (s->init) {
    for (long i = s->begin; i < s->end; ++i) {
      a[i] = 0.0f;
      b[i] = 1.0f;
      c[i] = 2.0f;
    }
    return NULL;
  }
  const float scalar = 3.0f;
  for (long i = s->begin; i < s->end; ++i) a[i] = b[i] + scalar * c[i];
  return NULL;
}

static double runOnce(int threads, int init) {
  pthread_t tid[256];
  Slice slices[256];
  const double t0 = now();
  for (int t = 0; t < threads; ++t) {
    slices[t].begin = n * t / threads;
    slices[t].end = n * (t + 1) / threads;
    slices[t].init = init;
    pthread_create(&tid[t], NULL, worker, &slices[t]);
  }
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
  return now() - t0;
}

int main(int argc, char** argv) {
  long mb = 64;
  int threadCounts[64];
  int nCounts = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
      mb = atol(argv[++i]);
      if (mb < 1 || mb > 65536) {
        fprintf(stderr, "stream_triad: --mb must be 1..65536, got '%s'\n", argv[i]);
        return 2;
      }
      continue;
    }
    const int t = atoi(argv[i]);
    if (t < 1 || t > 256 || nCounts == 64) {
      fprintf(stderr, "stream_triad: thread count must be 1..256, got '%s'\n", argv[i]);
      return 2;
    }
    threadCounts[nCounts++] = t;
  }
  if (nCounts == 0) {
    threadCounts[0] = 1;
    threadCounts[1] = 2;
    nCounts = 2;
  }

  n = mb * 1024 * 1024 / (long)sizeof(float);
  a = aligned_alloc(64, (size_t)n * sizeof(float));
  b = aligned_alloc(64, (size_t)n * sizeof(float));
  c = aligned_alloc(64, (size_t)n * sizeof(float));
  if (!a || !b || !c) {
    printf("{\"bench\":\"stream_triad\",\"error\":\"cannot allocate 3 x %ld MB\"}\n", mb);
    return 1;
  }

  printf("{\"bench\":\"stream_triad\",\"mb_per_array\":%ld,\"results\":[", mb);
  for (int k = 0; k < nCounts; ++k) {
    const int threads = threadCounts[k];
    runOnce(threads, 1);
    double best = 1e30;
    for (int rep = 0; rep < 10; ++rep) {
      const double s = runOnce(threads, 0);
      if (s < best) best = s;
    }
    const double bytes = 3.0 * (double)n * sizeof(float);
    printf("%s{\"threads\":%d,\"gbs\":%.2f,\"seconds\":%.6f}", k ? "," : "", threads,
           bytes / best * 1e-9, best);
  }
  printf("]}\n");
  // a[] is read back so the stores cannot be elided.
  if (a[n / 2] != 7.0f) fprintf(stderr, "stream_triad: wrong result %f\n", (double)a[n / 2]);
  free(a);
  free(b);
  free(c);
  return 0;
}
