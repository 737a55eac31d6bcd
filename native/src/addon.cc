// The detectron_native addon: a tensor handle class and flat functions over libtorch.
// The model logic lives in TypeScript (lib/); this layer only exposes operations.
#include <napi.h>

#include "ops.h"
#include "tensor_handle.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TensorHandle", dtn::TensorHandle::Define(env));
  dtn::RegisterTensorOps(env, exports);
  dtn::RegisterMathOps(env, exports);
  dtn::RegisterNNOps(env, exports);
  dtn::RegisterRuntime(env, exports);
  dtn::RegisterDetectronOps(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(detectron_native, Init)
