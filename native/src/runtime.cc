// Process-wide settings: threads, gradient modes, and what `detectron env` reports.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <memory>
#include <vector>

#include "args.h"
#include "errors.h"
#include "ops.h"

namespace dtn {

namespace {

// Inference-mode guards are RAII objects; the TS layer opens and closes them strictly
// nested (try/finally), so a stack of guards mirrors its scopes.
std::vector<std::unique_ptr<c10::InferenceMode>> g_inference_guards;

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
