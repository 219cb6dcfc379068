// Open MPI, opened at run time. The addon never links libmpi: a plain install
// and every single-process run work on machines without MPI. Only when a run
// is launched by mpirun (or asks for it) does lmkit dlopen libmpi and resolve
// the dozen functions and predefined handles data-parallel training needs.
//
// Every MPI call happens on one communication thread that lmkit starts (MPI
// is initialised there, with MPI_THREAD_FUNNELED), so Node's main thread only
// queues collectives and waits for them. Collectives are non-blocking MPI
// calls (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) polled with MPI_Test
// against a deadline: a peer that died or stopped turns into an error after
// `timeoutSec`, never into a hang. While the main thread computes, the
// communication thread keeps earlier collectives moving (gradient buckets
// reduced during the backward pass).
#pragma once

#include <cstdint>
#include <string>

namespace lmkit::dist {

enum class DType { F32, F64, U8 };
enum class ReduceOp { Sum, Max, Min };

// Opens `library` (a path or a soname for dlopen) with RTLD_GLOBAL, which Open
// MPI's plugins need, and resolves the symbols. Idempotent after success.
// False with a reason when the library is missing or not Open MPI.
bool open(const std::string& library, std::string* error);

// MPI_Init_thread on a new communication thread; errors are returned
// (MPI_ERRORS_RETURN on MPI_COMM_WORLD). Idempotent after success.
bool init(std::string* error);

bool initialized();
int rank();
int size();
// What MPI_Get_library_version said, and the file that was opened.
std::string libraryVersion();
std::string libraryPath();

// Seconds a collective may take once started before it fails.
void setTimeout(double seconds);
double timeout();

// Queued collectives; `data` must stay valid until wait() returns.
using Ticket = uint64_t;
Ticket allReduce(void* data, int64_t count, DType type, ReduceOp op);
Ticket broadcast(void* data, int64_t count, DType type, int root);
Ticket barrier();

struct Outcome {
  bool ok = false;
  std::string error;
  // The collective (or the earlier one that broke communication) ran past the timeout.
  bool timedOut = false;
  // Seconds the communication thread spent on this collective.
  double seconds = 0;
};
// Blocks until the collective finished or failed; bounded by the timeout.
Outcome wait(Ticket ticket);
// Whether the ticket's collective has finished (or failed) yet.
bool done(Ticket ticket);

struct Stats {
  double busySeconds;  // communication thread time inside collectives
  uint64_t collectives;
  uint64_t bytes;
};
Stats stats();

// MPI_Abort(MPI_COMM_WORLD, code): mpirun stops every rank. Never returns.
[[noreturn]] void abortAll(int code);
// MPI_Finalize on the communication thread (skipped when a collective
// failed: it would wait for the dead peer), then the thread ends.
void finalize();

}  // namespace lmkit::dist
