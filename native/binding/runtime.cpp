// N-API entries for the runtime: backend report, threads, ISA choice.
#include "binding/args.h"
#include "binding/registry.h"
#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cpuInfo = Napi::Object::New(env);
  cpuInfo.Set("isa", cpu::isaName(cpu::activeIsa()));
  cpuInfo.Set("isaReason", cpu::isaReason());
  Napi::Array available = Napi::Array::New(env);
  auto names = cpu::availableIsas();
  for (size_t i = 0; i < names.size(); ++i) available.Set(static_cast<uint32_t>(i), names[i]);
  cpuInfo.Set("isaAvailable", available);
  cpuInfo.Set("threads", cpu::numThreads());
  cpuInfo.Set("bf16Gemm", gemmBf16Path());
  cpuInfo.Set("amx", cpu::hasAmxBf16());
  return cpuInfo;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args args(info, "setNumThreads", 1);
  Napi::Value v = info[0];
  if (!v.IsNumber()) args.typeError("setNumThreads: expected a positive integer for n but received " + describe(v));
  const double n = v.As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 256 && n == static_cast<double>(static_cast<int>(n))))
    args.rangeError("setNumThreads: expected an integer in [1, 256] for n but received " + describe(v));
  cpu::setNumThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::numThreads());
}

Napi::Value SetCpuIsa(const Napi::CallbackInfo& info) {
  Args args(info, "setCpuIsa", 1);
  Napi::Value v = info[0];
  cpu::Isa isa;
  if (!v.IsString() || !cpu::parseIsa(v.As<Napi::String>().Utf8Value(), &isa))
    args.typeError("setCpuIsa: expected one of 'scalar', 'avx2', 'avx512' for isa but received " + describe(v));
  if (!cpu::setActiveIsa(isa))
    args.rangeError(std::string("setCpuIsa: this CPU does not support ") + cpu::isaName(isa) +
                    "; the best it supports is " + cpu::isaName(cpu::bestIsa()));
  return info.Env().Undefined();
}

Napi::Value SetCpuAmx(const Napi::CallbackInfo& info) {
  Args args(info, "setCpuAmx", 1);
  Napi::Value v = info[0];
  if (!v.IsBoolean()) args.typeError("setCpuAmx: expected a boolean for enabled but received " + describe(v));
  if (!cpu::setAmxAllowed(v.As<Napi::Boolean>().Value()))
    args.rangeError("setCpuAmx: this CPU (or OS) does not offer AMX-BF16 tiles; backendInfo().cpu.amx is false");
  return info.Env().Undefined();
}

}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuInfo", Napi::Function::New(env, BackendInfo, "cpuInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("setCpuIsa", Napi::Function::New(env, SetCpuIsa, "setCpuIsa"));
  exports.Set("setCpuAmx", Napi::Function::New(env, SetCpuAmx, "setCpuAmx"));
}

}  // namespace lmkit::binding
