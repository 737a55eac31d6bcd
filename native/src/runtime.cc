// Process-wide settings: threads, gradient modes, and what `detectron env` reports.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <memory>
#include <string>
#include <vector>

#ifdef DETECTRON_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "args.h"
#include "errors.h"
#include "ops.h"

namespace dtn {

namespace {

// Inference-mode guards are RAII objects; the TS layer opens and closes them strictly
// nested (try/finally), so a stack of guards mirrors its scopes.
std::vector<std::unique_ptr<c10::InferenceMode>> g_inference_guards;

// Autocast scopes (torch.autocast): the TS layer opens and closes them strictly nested, so
// each entry saves what it replaced and the exit restores it.
struct AutocastState {
  bool cuda_enabled;
  bool cpu_enabled;
  at::ScalarType cuda_dtype;
  at::ScalarType cpu_dtype;
};
std::vector<AutocastState> g_autocast_stack;

AutocastState CurrentAutocast() {
  return {at::autocast::is_enabled(), at::autocast::is_cpu_enabled(), at::autocast::get_autocast_gpu_dtype(),
          at::autocast::get_autocast_cpu_dtype()};
}

void ApplyAutocast(const AutocastState& s) {
  at::autocast::set_enabled(s.cuda_enabled);
  at::autocast::set_cpu_enabled(s.cpu_enabled);
  at::autocast::set_autocast_gpu_dtype(s.cuda_dtype);
  at::autocast::set_autocast_cpu_dtype(s.cpu_dtype);
}

// autocastEnter(deviceType 'cpu' | 'cuda', dtypeCode): ops on that device type run in the
// reduced dtype where autocast's policy says so, until the matching autocastExit.
Napi::Value AutocastEnter(const Napi::CallbackInfo& i) {
  Args a(i);
  std::string device = a.String(0);
  at::ScalarType dtype = a.DType(1);
  if (dtype != at::kHalf && dtype != at::kBFloat16) throw std::runtime_error("autocast: dtype must be float16 or bfloat16");
  if (device != "cpu" && device != "cuda") throw std::runtime_error("autocast: device type must be cpu or cuda, got '" + device + "'");
  if (device == "cpu" && dtype != at::kBFloat16) {
    throw std::runtime_error("autocast on CPU computes in bfloat16 only (float16 is CUDA's)");
  }
  AutocastState prev = CurrentAutocast();
  AutocastState next = prev;
  if (device == "cuda") {
    next.cuda_enabled = true;
    next.cuda_dtype = dtype;
  } else {
    next.cpu_enabled = true;
    next.cpu_dtype = dtype;
  }
  g_autocast_stack.push_back(prev);
  ApplyAutocast(next);
  at::autocast::increment_nesting();
  return i.Env().Undefined();
}

Napi::Value AutocastExit(const Napi::CallbackInfo& i) {
  if (g_autocast_stack.empty()) throw std::runtime_error("autocastExit without a matching autocastEnter");
  ApplyAutocast(g_autocast_stack.back());
  g_autocast_stack.pop_back();
  // The weight casts autocast caches live until the outermost scope closes (as torch.autocast).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  return i.Env().Undefined();
}

// cudaMemory(device): the caching allocator's allocated bytes (current and peak since the
// last reset) and reserved bytes; resetCudaPeakMemory(device) starts a new peak.
Napi::Value CudaMemory(const Napi::CallbackInfo& i) {
  Args a(i);
#ifdef DETECTRON_WITH_CUDA
  int device = static_cast<int>(a.Int(0));
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  const size_t all = static_cast<size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE);
  Napi::Object out = Napi::Object::New(i.Env());
  out.Set("allocated", static_cast<double>(stats.allocated_bytes[all].current));
  out.Set("peakAllocated", static_cast<double>(stats.allocated_bytes[all].peak));
  out.Set("reserved", static_cast<double>(stats.reserved_bytes[all].current));
  return out;
#else
  throw std::runtime_error("cudaMemory: this build has no CUDA (libtorch is CPU-only)");
#endif
}

Napi::Value ResetCudaPeakMemory(const Napi::CallbackInfo& i) {
  Args a(i);
#ifdef DETECTRON_WITH_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<int>(a.Int(0)));
  return i.Env().Undefined();
#else
  throw std::runtime_error("resetCudaPeakMemory: this build has no CUDA (libtorch is CPU-only)");
#endif
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object e) {
  Export(env, e, "setNumThreads", [](const Napi::CallbackInfo& i) {
    Args a(i);
    at::set_num_threads(static_cast<int>(a.Int(0)));
    return i.Env().Undefined();
  });
  Export(env, e, "getNumThreads", [](const Napi::CallbackInfo& i) {
    return Napi::Number::New(i.Env(), at::get_num_threads());
  });
  Export(env, e, "setGradEnabled", [](const Napi::CallbackInfo& i) {
    Args a(i);
    c10::GradMode::set_enabled(a.Bool(0));
    return i.Env().Undefined();
  });
  Export(env, e, "isGradEnabled", [](const Napi::CallbackInfo& i) {
    return Napi::Boolean::New(i.Env(), c10::GradMode::is_enabled());
  });
  Export(env, e, "enterInferenceMode", [](const Napi::CallbackInfo& i) {
    g_inference_guards.push_back(std::make_unique<c10::InferenceMode>());
    return i.Env().Undefined();
  });
  Export(env, e, "exitInferenceMode", [](const Napi::CallbackInfo& i) {
    if (!g_inference_guards.empty()) g_inference_guards.pop_back();
    return i.Env().Undefined();
  });
  Export(env, e, "autocastEnter", AutocastEnter);
  Export(env, e, "autocastExit", AutocastExit);
  // cuDNN's autotuner (torch.backends.cudnn.benchmark): picks the fastest convolution algorithm
  // per input shape, which pays when shapes repeat (fixed scales) and costs when they do not.
  Export(env, e, "setCudnnBenchmark", [](const Napi::CallbackInfo& i) {
    Args a(i);
    at::globalContext().setBenchmarkCuDNN(a.Bool(0));
    return i.Env().Undefined();
  });
  Export(env, e, "cudaMemory", CudaMemory);
  Export(env, e, "resetCudaPeakMemory", ResetCudaPeakMemory);
  Export(env, e, "info", [](const Napi::CallbackInfo& i) {
    Napi::Env env = i.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("torchVersion", TORCH_VERSION);
    out.Set("config", at::show_config());
    out.Set("parallel", at::get_parallel_info());
    out.Set("cuda", at::detail::getCUDAHooks().hasCUDA());
    out.Set("cudnn", at::detail::getCUDAHooks().hasCuDNN());
    out.Set("cudaDevices", at::detail::getCUDAHooks().getNumGPUs());
    out.Set("threads", at::get_num_threads());
#ifdef DETECTRON_WITH_CUDA
    out.Set("kernelsCuda", true);
#else
    out.Set("kernelsCuda", false);
#endif
    return out;
  });
}

}  // namespace dtn
