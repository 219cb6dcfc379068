// Round trip of one cache line between two CPUs: whether the cores the
// threads run on share a cache. Not a ceiling like peak_fma and
// stream_triad, but it says how to read multi-threaded GEMM rows on a VM
// whose vCPUs the hypervisor moves: ~100 ns on one Zen CCX (shared L3),
// ~450 ns between CCDs, where panels packed by one core cost the other.
//
// Usage: core_to_core [cpuA cpuB]        (default: the first two CPUs we may use)
// Prints one JSON line: {"bench":"core_to_core","cpus":[a,b],"roundTripNs":...}
// (the best of 5 runs of 100000 round trips), or {"bench":"core_to_core","error":...}.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIPS 100000

// The line the two threads hand back and forth: odd values are pings from
// the first CPU, even ones the second's answers.
static _Alignas(64) atomic_long ball;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int pinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void* answer(void* arg) {
  const long start = *(const long*)arg;
  for (long i = 0; i < TRIPS; ++i) {
    const long ping = start + 2 * i + 1;
    while (atomic_load_explicit(&ball, memory_order_acquire) != ping) {
    }
    atomic_store_explicit(&ball, ping + 1, memory_order_release);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int cpus[2] = {-1, -1};
  if (argc == 3) {
    cpus[0] = atoi(argv[1]);
    cpus[1] = atoi(argv[2]);
  } else {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
      printf("{\"bench\":\"core_to_core\",\"error\":\"sched_getaffinity failed\"}\n");
      return 1;
    }
    for (int c = 0, found = 0; c < CPU_SETSIZE && found < 2; ++c)
      if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
  }
  if (cpus[0] < 0 || cpus[1] < 0 || cpus[0] == cpus[1]) {
    printf("{\"bench\":\"core_to_core\",\"error\":\"needs two distinct CPUs\"}\n");
    return 1;
  }
  if (pinTo(cpus[0]) != 0) {
    printf("{\"bench\":\"core_to_core\",\"error\":\"cannot run on CPU %d\"}\n", cpus[0]);
    return 1;
  }

  double best = 1e30;
  for (int run = 0; run < 5; ++run) {
    long start = 2L * TRIPS * run;
    atomic_store(&ball, start);
    pthread_t other;
    if (pthread_create(&other, NULL, answer, &start) != 0) {
      printf("{\"bench\":\"core_to_core\",\"error\":\"cannot start a thread\"}\n");
      return 1;
    }
    // The answering thread is moved to its CPU before the first ping.
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[1], &set);
    if (pthread_setaffinity_np(other, sizeof(set), &set) != 0) {
      printf("{\"bench\":\"core_to_core\",\"error\":\"cannot run on CPU %d\"}\n", cpus[1]);
      return 1;
    }
    const double t0 = now();
    for (long i = 0; i < TRIPS; ++i) {
      const long ping = start + 2 * i + 1;
      atomic_store_explicit(&ball, ping, memory_order_release);
      while (atomic_load_explicit(&ball, memory_order_acquire) != ping + 1) {
      }
    }
    const double seconds = now() - t0;
    pthread_join(other, NULL);
    if (seconds < best) best = seconds;
  }
  printf("{\"bench\":\"core_to_core\",\"cpus\":[%d,%d],\"roundTripNs\":%.1f}\n", cpus[0], cpus[1],
         best / TRIPS * 1e9);
  return 0;
}
