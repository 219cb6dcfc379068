// N-API entries for distributed training over Open MPI (native/distributed/mpi.h).
// Nothing here runs unless lib/distributed calls it: loading the addon never
// opens libmpi. A collective is started with its buffer and waited on by
// ticket; the buffer's JS object is referenced until the wait, so the GC
// cannot free memory the communication thread is still writing.
#include <unordered_map>

#include "binding/args.h"
#include "binding/registry.h"
#include "distributed/mpi.h"

namespace lmkit::binding {
namespace {

// Buffers of collectives in flight, by ticket (main thread only).
std::unordered_map<dist::Ticket, Napi::Reference<Napi::Value>>& inFlight() {
  static auto* refs = new std::unordered_map<dist::Ticket, Napi::Reference<Napi::Value>>();
  return *refs;
}

void requireInit(Napi::Env env, const char* op) {
  if (!dist::initialized())
    throw Napi::RangeError::New(env, std::string(op) + ": MPI is not initialised in this process; call initDistributed() first");
}

// `buffer` is the collective's typed array, or undefined (barrier: nothing to keep alive).
Napi::Value Ticket(Napi::Env env, dist::Ticket ticket, const Napi::Value& buffer) {
  inFlight().emplace(ticket, buffer.IsObject() ? Napi::Persistent(buffer) : Napi::Reference<Napi::Value>());
  return Napi::Number::New(env, static_cast<double>(ticket));
}

// mpiOpen(library) → { ok, error }
Napi::Value MpiOpen(const Napi::CallbackInfo& info) {
  Args args(info, "mpiOpen", 1);
  if (!info[0].IsString()) args.typeError("mpiOpen: expected a string for library but received " + describe(info[0]));
  std::string error;
  const bool ok = dist::open(info[0].As<Napi::String>().Utf8Value(), &error);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("ok", ok);
  out.Set("error", error);
  return out;
}

// mpiInit({ timeoutSec }) → { ok, error, rank, size, version, library }
Napi::Value MpiInit(const Napi::CallbackInfo& info) {
  Args args(info, "mpiInit", 1);
  const Napi::Object opts = args.options(0);
  dist::setTimeout(args.numberIn(opts, "timeoutSec", dist::timeout(), 0.001, 1e9));
  std::string error;
  const bool ok = dist::init(&error);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("ok", ok);
  out.Set("error", error);
  out.Set("rank", dist::rank());
  out.Set("size", dist::size());
  out.Set("version", dist::libraryVersion());
  out.Set("library", dist::libraryPath());
  return out;
}

Napi::Value MpiSetTimeout(const Napi::CallbackInfo& info) {
  Args args(info, "mpiSetTimeout", 1);
  if (!info[0].IsNumber()) args.typeError("mpiSetTimeout: expected a number of seconds but received " + describe(info[0]));
  const double s = info[0].As<Napi::Number>().DoubleValue();
  if (!(s > 0 && s <= 1e9)) args.rangeError("mpiSetTimeout: expected seconds in (0, 1e9] but received " + describe(info[0]));
  dist::setTimeout(s);
  return info.Env().Undefined();
}

// mpiAllReduceStart(buffer: Float32Array | Float64Array, op: 'sum' | 'max' | 'min') → ticket
Napi::Value MpiAllReduceStart(const Napi::CallbackInfo& info) {
  Args args(info, "mpiAllReduceStart", 2);
  requireInit(info.Env(), "mpiAllReduceStart");
  if (!info[0].IsTypedArray()) args.typeError("mpiAllReduceStart: expected a Float32Array or Float64Array for buffer but received " + describe(info[0]));
  auto array = info[0].As<Napi::TypedArray>();
  dist::DType type;
  if (array.TypedArrayType() == napi_float32_array) type = dist::DType::F32;
  else if (array.TypedArrayType() == napi_float64_array) type = dist::DType::F64;
  else args.typeError("mpiAllReduceStart: expected a Float32Array or Float64Array for buffer but received " + describe(info[0]));
  const std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  dist::ReduceOp op;
  if (name == "sum") op = dist::ReduceOp::Sum;
  else if (name == "max") op = dist::ReduceOp::Max;
  else if (name == "min") op = dist::ReduceOp::Min;
  else args.typeError("mpiAllReduceStart: expected one of 'sum', 'max', 'min' for op but received " + describe(info[1]));
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return Ticket(info.Env(), dist::allReduce(data, static_cast<int64_t>(array.ElementLength()), type, op), info[0]);
}

// mpiBroadcastStart(buffer: any TypedArray, root) → ticket; the bytes are sent as they are.
Napi::Value MpiBroadcastStart(const Napi::CallbackInfo& info) {
  Args args(info, "mpiBroadcastStart", 2);
  requireInit(info.Env(), "mpiBroadcastStart");
  if (!info[0].IsTypedArray()) args.typeError("mpiBroadcastStart: expected a typed array for buffer but received " + describe(info[0]));
  if (!info[1].IsNumber()) args.typeError("mpiBroadcastStart: expected a rank for root but received " + describe(info[1]));
  const double root = info[1].As<Napi::Number>().DoubleValue();
  if (!(root >= 0 && root < dist::size() && root == static_cast<double>(static_cast<int>(root))))
    args.rangeError("mpiBroadcastStart: expected a rank in [0, " + std::to_string(dist::size()) + ") for root but received " + describe(info[1]));
  auto array = info[0].As<Napi::TypedArray>();
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return Ticket(info.Env(), dist::broadcast(data, static_cast<int64_t>(array.ByteLength()), dist::DType::U8, static_cast<int>(root)), info[0]);
}

Napi::Value MpiBarrierStart(const Napi::CallbackInfo& info) {
  requireInit(info.Env(), "mpiBarrierStart");
  return Ticket(info.Env(), dist::barrier(), info.Env().Undefined());
}

dist::Ticket ticketArg(Args& args, const Napi::CallbackInfo& info, const char* op) {
  const double t = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  const auto ticket = static_cast<dist::Ticket>(t);
  if (!(t >= 1) || inFlight().count(ticket) == 0)
    args.rangeError(std::string(op) + ": " + describe(info[0]) + " is not a collective in flight");
  return ticket;
}

// mpiWait(ticket) → { ok, error, timedOut, seconds }: blocks (bounded by the timeout).
Napi::Value MpiWait(const Napi::CallbackInfo& info) {
  Args args(info, "mpiWait", 1);
  const dist::Ticket ticket = ticketArg(args, info, "mpiWait");
  const dist::Outcome outcome = dist::wait(ticket);
  inFlight().erase(ticket);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("ok", outcome.ok);
  out.Set("error", outcome.error);
  out.Set("timedOut", outcome.timedOut);
  out.Set("seconds", outcome.seconds);
  return out;
}

Napi::Value MpiDone(const Napi::CallbackInfo& info) {
  Args args(info, "mpiDone", 1);
  return Napi::Boolean::New(info.Env(), dist::done(ticketArg(args, info, "mpiDone")));
}

Napi::Value MpiStats(const Napi::CallbackInfo& info) {
  const dist::Stats s = dist::stats();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("busySeconds", s.busySeconds);
  out.Set("collectives", static_cast<double>(s.collectives));
  out.Set("bytes", static_cast<double>(s.bytes));
  return out;
}

Napi::Value MpiAbort(const Napi::CallbackInfo& info) {
  const int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  dist::abortAll(code);
}

Napi::Value MpiFinalize(const Napi::CallbackInfo& info) {
  dist::finalize();
  return info.Env().Undefined();
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("mpiOpen", Napi::Function::New(env, MpiOpen, "mpiOpen"));
  exports.Set("mpiInit", Napi::Function::New(env, MpiInit, "mpiInit"));
  exports.Set("mpiSetTimeout", Napi::Function::New(env, MpiSetTimeout, "mpiSetTimeout"));
  exports.Set("mpiAllReduceStart", Napi::Function::New(env, MpiAllReduceStart, "mpiAllReduceStart"));
  exports.Set("mpiBroadcastStart", Napi::Function::New(env, MpiBroadcastStart, "mpiBroadcastStart"));
  exports.Set("mpiBarrierStart", Napi::Function::New(env, MpiBarrierStart, "mpiBarrierStart"));
  exports.Set("mpiWait", Napi::Function::New(env, MpiWait, "mpiWait"));
  exports.Set("mpiDone", Napi::Function::New(env, MpiDone, "mpiDone"));
  exports.Set("mpiStats", Napi::Function::New(env, MpiStats, "mpiStats"));
  exports.Set("mpiAbort", Napi::Function::New(env, MpiAbort, "mpiAbort"));
  exports.Set("mpiFinalize", Napi::Function::New(env, MpiFinalize, "mpiFinalize"));
}

}  // namespace lmkit::binding
