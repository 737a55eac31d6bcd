// A JavaScript object owning one at::Tensor. libtorch memory is invisible to V8's
// garbage collector, so the handle releases its tensor deterministically on dispose()
// and reports the bytes it holds as external memory, which makes V8 collect forgotten
// handles sooner.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

namespace dtn {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Wraps a tensor in a new handle object.
  static Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
  // The tensor behind a handle argument; throws a JS TypeError for anything else or a
  // disposed handle, naming `what` (the argument) in the message.
  static const at::Tensor& From(const Napi::Value& value, const char* what);
  static bool IsHandle(const Napi::Value& value);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  at::Tensor tensor;

 private:
  void Release();
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value ToArrayBuffer(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value GetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);

  int64_t accounted_bytes_ = 0;
  napi_env env_;
};

// dtype codes shared with lib/nn/dtype.ts.
at::ScalarType ScalarTypeFromCode(int code);
int CodeFromScalarType(at::ScalarType type);

}  // namespace dtn
