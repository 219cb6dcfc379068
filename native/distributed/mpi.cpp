// Open MPI through dlopen/dlsym and one communication thread (see mpi.h).
//
// Open MPI's C types are pointers to its predefined global objects
// (openmpi/include/mpi.h, 4.x and 5.x):
//   MPI_Comm     = struct ompi_communicator_t*, MPI_COMM_WORLD = &ompi_mpi_comm_world
//   MPI_Datatype = struct ompi_datatype_t*,     MPI_FLOAT = &ompi_mpi_float, ...
//   MPI_Op       = struct ompi_op_t*,           MPI_SUM = &ompi_mpi_op_sum, ...
//   MPI_Request  = struct ompi_request_t*
// so dlsym of those globals gives the handles themselves. The few integer
// constants used are the same in every Open MPI release: MPI_SUCCESS = 0,
// MPI_THREAD_FUNNELED = 1, MPI_IN_PLACE = (void*)1, MPI_STATUS_IGNORE = 0.
#include "distributed/mpi.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace lmkit::dist {
namespace {

using Handle = void*;
using Clock = std::chrono::steady_clock;

constexpr int kSuccess = 0;
constexpr int kThreadFunneled = 1;
Handle const kInPlace = reinterpret_cast<Handle>(1);
// Open MPI's MPI_MAX_ERROR_STRING and MPI_MAX_LIBRARY_VERSION_STRING are 256.
constexpr int kStringBuffer = 1024;
// MPI counts are int: larger buffers go in pieces.
constexpr int64_t kMaxCount = int64_t{1} << 30;

struct Api {
  int (*Init_thread)(int*, char***, int, int*);
  int (*Initialized)(int*);
  int (*Finalize)();
  int (*Comm_rank)(Handle, int*);
  int (*Comm_size)(Handle, int*);
  int (*Comm_set_errhandler)(Handle, Handle);
  int (*Iallreduce)(const void*, void*, int, Handle, Handle, Handle, Handle*);
  int (*Ibcast)(void*, int, Handle, int, Handle, Handle*);
  int (*Ibarrier)(Handle, Handle*);
  int (*Test)(Handle*, int*, void*);
  int (*Abort)(Handle, int);
  int (*Error_string)(int, char*, int*);
  int (*Get_library_version)(char*, int*);
  Handle commWorld, errorsReturn;
  Handle f32, f64, u8;
  Handle opSum, opMax, opMin;
};

Api api{};
void* library = nullptr;
std::string libraryFile;

template <class F>
bool resolve(F* slot, const char* name, std::string* missing) {
  *slot = reinterpret_cast<F>(dlsym(library, name));
  if (*slot == nullptr) *missing += std::string(missing->empty() ? "" : ", ") + name;
  return *slot != nullptr;
}

std::string errorString(int code) {
  char text[kStringBuffer] = {0};
  int length = 0;
  if (api.Error_string && api.Error_string(code, text, &length) == kSuccess && length > 0)
    return std::string(text, static_cast<size_t>(length));
  return "MPI error " + std::to_string(code);
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---------------------------------------------------------------- the thread

enum class Kind { Init, AllReduce, Broadcast, Barrier, Finalize };

struct Job {
  Ticket ticket;
  Kind kind;
  void* data;
  int64_t count;
  DType type;
  ReduceOp op;
  int root;
};

struct Result {
  bool ok;
  std::string error;
  double seconds;
  bool timedOut;
};

// Allocated once and never freed: the detached thread may outlive static
// destruction at process exit.
struct State {
  std::mutex mu;
  std::condition_variable work, finished;
  std::deque<Job> queue;
  std::unordered_map<Ticket, Result> results;
  Ticket nextTicket = 1;
  bool running = false;
  bool initDone = false;
  bool finalized = false;
  // After a failed collective the peers are out of step: later ones fail at once.
  std::string broken;
  bool brokenByTimeout = false;
  Clock::time_point lastActivity = Clock::now();
  int rank = -1, size = 0;
  std::string version;
  double busySeconds = 0;
  uint64_t collectives = 0, bytes = 0;
  std::atomic<double> timeoutSec{300.0};
  std::atomic<bool> aborting{false};
  std::atomic<int> abortCode{1};
};

State& state() {
  static State* s = new State();
  return *s;
}

size_t elementSize(DType t) { return t == DType::F64 ? 8 : t == DType::F32 ? 4 : 1; }
Handle datatype(DType t) { return t == DType::F64 ? api.f64 : t == DType::F32 ? api.f32 : api.u8; }
Handle reduceOp(ReduceOp op) { return op == ReduceOp::Max ? api.opMax : op == ReduceOp::Min ? api.opMin : api.opSum; }
const char* typeName(DType t) { return t == DType::F64 ? "float64" : t == DType::F32 ? "float32" : "byte"; }

// Polls one request until it completes, fails, the deadline passes, or an
// abort is requested. Sleeps a little between polls after a short spin so a
// waiting rank leaves the core to the compute thread.
bool complete(Handle* request, Clock::time_point started, const std::string& what, std::string* error, bool* timedOut) {
  State& s = state();
  const double limit = s.timeoutSec.load();
  for (unsigned spins = 0;; ++spins) {
    int flag = 0;
    const int rc = api.Test(request, &flag, nullptr);
    if (rc != kSuccess) {
      *error = what + " failed: " + errorString(rc);
      return false;
    }
    if (flag) return true;
    if (s.aborting.load()) {
      *error = what + " was interrupted by an abort";
      return false;
    }
    if (secondsSince(started) > limit) {
      *timedOut = true;
      *error = what + " did not complete within " + std::to_string(static_cast<long>(limit)) +
               " s: a peer rank stopped, died or fell behind";
      return false;
    }
    if (spins > 256) std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

bool runCollective(const Job& job, std::string* error, bool* timedOut) {
  const size_t width = elementSize(job.type);
  auto* base = static_cast<uint8_t*>(job.data);
  const Clock::time_point started = Clock::now();
  if (job.kind == Kind::Barrier) {
    Handle request = nullptr;
    const int rc = api.Ibarrier(api.commWorld, &request);
    if (rc != kSuccess) return (*error = "barrier failed: " + errorString(rc)), false;
    return complete(&request, started, "barrier", error, timedOut);
  }
  int64_t offset = 0;
  do {
    const int count = static_cast<int>(std::min(job.count - offset, kMaxCount));
    Handle request = nullptr;
    void* chunk = base + offset * static_cast<int64_t>(width);
    std::string what;
    int rc;
    if (job.kind == Kind::AllReduce) {
      what = "all-reduce of " + std::to_string(job.count) + " " + typeName(job.type) + " values";
      rc = api.Iallreduce(kInPlace, chunk, count, datatype(job.type), reduceOp(job.op), api.commWorld, &request);
    } else {
      what = "broadcast of " + std::to_string(job.count * static_cast<int64_t>(width)) + " bytes from rank " + std::to_string(job.root);
      rc = api.Ibcast(chunk, count, datatype(job.type), job.root, api.commWorld, &request);
    }
    if (rc != kSuccess) return (*error = what + " failed: " + errorString(rc)), false;
    if (!complete(&request, started, what, error, timedOut)) return false;
    offset += count;
  } while (offset < job.count);
  return true;
}

bool runInit(std::string* error) {
  State& s = state();
  int already = 0;
  api.Initialized(&already);
  if (!already) {
    int provided = 0;
    const int rc = api.Init_thread(nullptr, nullptr, kThreadFunneled, &provided);
    if (rc != kSuccess) return (*error = "MPI_Init_thread failed: " + errorString(rc)), false;
  }
  // Errors come back as return codes, which become JS errors, instead of
  // MPI's default of killing the job without saying where.
  api.Comm_set_errhandler(api.commWorld, api.errorsReturn);
  int rank = -1, size = 0;
  if (api.Comm_rank(api.commWorld, &rank) != kSuccess || api.Comm_size(api.commWorld, &size) != kSuccess)
    return (*error = "MPI_Comm_rank/MPI_Comm_size failed"), false;
  char version[kStringBuffer] = {0};
  int length = 0;
  if (api.Get_library_version && api.Get_library_version(version, &length) == kSuccess)
    s.version.assign(version, static_cast<size_t>(length));
  while (!s.version.empty() && (s.version.back() == '\n' || s.version.back() == '\0')) s.version.pop_back();
  std::lock_guard<std::mutex> lock(s.mu);
  s.rank = rank;
  s.size = size;
  return true;
}

void threadMain() {
  State& s = state();
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(s.mu);
      s.work.wait(lock, [&] { return !s.queue.empty() || s.aborting.load(); });
      if (s.aborting.load()) break;
      job = s.queue.front();
      s.queue.pop_front();
      s.lastActivity = Clock::now();
    }
    Result result{true, "", 0, false};
    const Clock::time_point started = Clock::now();
    std::string broken;
    bool brokenByTimeout;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      broken = s.broken;
      brokenByTimeout = s.brokenByTimeout;
    }
    if (job.kind == Kind::Init) {
      result.ok = runInit(&result.error);
    } else if (job.kind == Kind::Finalize) {
      if (broken.empty()) api.Finalize();
    } else if (!broken.empty()) {
      result = {false, "an earlier collective failed (" + broken + "), so this one cannot run", 0, brokenByTimeout};
    } else {
      result.ok = runCollective(job, &result.error, &result.timedOut);
    }
    result.seconds = secondsSince(started);
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (job.kind != Kind::Init && job.kind != Kind::Finalize) {
        s.busySeconds += result.seconds;
        s.collectives++;
        s.bytes += static_cast<uint64_t>(job.count) * elementSize(job.type);
        if (!result.ok && s.broken.empty()) {
          s.broken = result.error;
          s.brokenByTimeout = result.timedOut;
        }
      }
      s.results[job.ticket] = result;
      s.lastActivity = Clock::now();
    }
    s.finished.notify_all();
    if (job.kind == Kind::Finalize) return;
  }
  // An abort: MPI_Abort from the thread that initialised MPI.
  api.Abort(api.commWorld, s.abortCode.load());
  _exit(s.abortCode.load());
}

Ticket enqueue(Job job) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  job.ticket = s.nextTicket++;
  if (s.queue.empty()) s.lastActivity = Clock::now();
  s.queue.push_back(job);
  s.work.notify_one();
  return job.ticket;
}

}  // namespace

bool open(const std::string& path, std::string* error) {
  if (library != nullptr) return true;
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = why ? why : ("cannot open " + path);
    return false;
  }
  library = handle;
  std::string missing;
  bool ok = true;
  ok &= resolve(&api.Init_thread, "MPI_Init_thread", &missing);
  ok &= resolve(&api.Initialized, "MPI_Initialized", &missing);
  ok &= resolve(&api.Finalize, "MPI_Finalize", &missing);
  ok &= resolve(&api.Comm_rank, "MPI_Comm_rank", &missing);
  ok &= resolve(&api.Comm_size, "MPI_Comm_size", &missing);
  ok &= resolve(&api.Comm_set_errhandler, "MPI_Comm_set_errhandler", &missing);
  ok &= resolve(&api.Iallreduce, "MPI_Iallreduce", &missing);
  ok &= resolve(&api.Ibcast, "MPI_Ibcast", &missing);
  ok &= resolve(&api.Ibarrier, "MPI_Ibarrier", &missing);
  ok &= resolve(&api.Test, "MPI_Test", &missing);
  ok &= resolve(&api.Abort, "MPI_Abort", &missing);
  ok &= resolve(&api.Error_string, "MPI_Error_string", &missing);
  ok &= resolve(&api.Get_library_version, "MPI_Get_library_version", &missing);
  ok &= resolve(&api.commWorld, "ompi_mpi_comm_world", &missing);
  ok &= resolve(&api.errorsReturn, "ompi_mpi_errors_return", &missing);
  ok &= resolve(&api.f32, "ompi_mpi_float", &missing);
  ok &= resolve(&api.f64, "ompi_mpi_double", &missing);
  ok &= resolve(&api.u8, "ompi_mpi_byte", &missing);
  ok &= resolve(&api.opSum, "ompi_mpi_op_sum", &missing);
  ok &= resolve(&api.opMax, "ompi_mpi_op_max", &missing);
  ok &= resolve(&api.opMin, "ompi_mpi_op_min", &missing);
  if (!ok) {
    dlclose(handle);
    library = nullptr;
    api = Api{};
    *error = path + " is not an Open MPI library (missing " + missing + ")";
    return false;
  }
  libraryFile = path;
  return true;
}

bool init(std::string* error) {
  State& s = state();
  if (library == nullptr) return (*error = "libmpi is not open"), false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.initDone) return true;
    if (s.finalized) return (*error = "MPI was already finalized in this process"), false;
    if (!s.running) {
      std::thread(threadMain).detach();
      s.running = true;
    }
  }
  const Outcome outcome = wait(enqueue(Job{0, Kind::Init, nullptr, 0, DType::U8, ReduceOp::Sum, 0}));
  if (!outcome.ok) return (*error = outcome.error), false;
  std::lock_guard<std::mutex> lock(s.mu);
  s.initDone = true;
  return true;
}

bool initialized() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.initDone && !s.finalized;
}

int rank() { return state().rank; }
int size() { return state().size; }
std::string libraryVersion() { return state().version; }
std::string libraryPath() { return libraryFile; }
void setTimeout(double seconds) { state().timeoutSec.store(seconds); }
double timeout() { return state().timeoutSec.load(); }

Ticket allReduce(void* data, int64_t count, DType type, ReduceOp op) {
  return enqueue(Job{0, Kind::AllReduce, data, count, type, op, 0});
}

Ticket broadcast(void* data, int64_t count, DType type, int root) {
  return enqueue(Job{0, Kind::Broadcast, data, count, type, ReduceOp::Sum, root});
}

Ticket barrier() { return enqueue(Job{0, Kind::Barrier, nullptr, 0, DType::U8, ReduceOp::Sum, 0}); }

bool done(Ticket ticket) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.results.count(ticket) != 0;
}

Outcome wait(Ticket ticket) {
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    auto found = s.results.find(ticket);
    if (found != s.results.end()) {
      Outcome outcome{found->second.ok, found->second.error, found->second.timedOut, found->second.seconds};
      s.results.erase(found);
      return outcome;
    }
    // A backstop behind the thread's own deadline: if MPI itself wedges
    // inside a call, the main thread still gets its error.
    const double stalled = secondsSince(s.lastActivity);
    if (stalled > s.timeoutSec.load() + 30)
      return Outcome{false, "the communication thread made no progress for " + std::to_string(static_cast<long>(stalled)) + " s", true, 0};
    s.finished.wait_for(lock, std::chrono::milliseconds(500));
  }
}

Stats stats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  return Stats{s.busySeconds, s.collectives, s.bytes};
}

void abortAll(int code) {
  State& s = state();
  bool running;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    running = s.running && s.initDone && !s.finalized;
    s.abortCode.store(code);
    s.aborting.store(true);
  }
  s.work.notify_all();
  if (running) {
    // MPI_Abort normally ends the process from the thread; if it returns or
    // the thread is stuck inside MPI, exit anyway.
    std::this_thread::sleep_for(std::chrono::seconds(10));
  }
  _exit(code);
}

void finalize() {
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.running || s.finalized) return;
    s.finalized = true;
  }
  wait(enqueue(Job{0, Kind::Finalize, nullptr, 0, DType::U8, ReduceOp::Sum, 0}));
  std::lock_guard<std::mutex> lock(s.mu);
  s.running = false;
}

}  // namespace lmkit::dist
