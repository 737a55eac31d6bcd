// The detectron_native addon: a tensor handle class and flat functions over libtorch.
// The model logic lives in TypeScript (lib/); this layer only exposes operations.
#include <napi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "ops.h"
#include "tensor_handle.h"

namespace {

// glibc raises its mmap threshold each time a large block is freed, after which feature-map
// sized tensors come from the heap and freed ones stay in it: resident memory then grows
// image after image. A fixed threshold keeps large tensors in mmap'ed memory, returned to
// the system on free.
void FixMallocThreshold() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  FixMallocThreshold();
  exports.Set("TensorHandle", dtn::TensorHandle::Define(env));
  dtn::RegisterTensorOps(env, exports);
  dtn::RegisterMathOps(env, exports);
  dtn::RegisterNNOps(env, exports);
  dtn::RegisterRuntime(env, exports);
  dtn::RegisterDetectronOps(env, exports);
  dtn::RegisterDistributed(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(detectron_native, Init)
