#include "tensor_handle.h"

#include <torch/csrc/autograd/autograd.h>

#include <cstring>

#include "errors.h"

namespace dtn {

namespace {

// Bytes a tensor keeps alive in host memory, for V8's external-memory accounting. Views
// count their whole storage; that overcounts shared storage but only makes V8 collect
// forgotten handles a little sooner.
int64_t HostBytes(const at::Tensor& t) {
  if (!t.defined() || !t.device().is_cpu() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

struct Constructor {
  Napi::FunctionReference ref;
};

}  // namespace

at::ScalarType ScalarTypeFromCode(int code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kDouble;
    case 2: return at::kInt;
    case 3: return at::kLong;
    case 4: return at::kByte;
    case 5: return at::kBool;
    case 6: return at::kHalf;
    case 7: return at::kBFloat16;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int CodeFromScalarType(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return 0;
    case at::kDouble: return 1;
    case at::kInt: return 2;
    case at::kLong: return 3;
    case at::kByte: return 4;
    case at::kBool: return 5;
    case at::kHalf: return 6;
    case at::kBFloat16: return 7;
    default: break;
  }
  throw std::invalid_argument(std::string("tensor has unsupported dtype ") + c10::toString(type));
}

Napi::Function TensorHandle::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "TensorHandle",
      {
          InstanceMethod<&TensorHandle::Dispose>("dispose"),
          InstanceMethod<&TensorHandle::IsDisposed>("isDisposed"),
          InstanceMethod<&TensorHandle::Shape>("shape"),
          InstanceMethod<&TensorHandle::DType>("dtype"),
          InstanceMethod<&TensorHandle::Device>("device"),
          InstanceMethod<&TensorHandle::ToArrayBuffer>("toArrayBuffer"),
          InstanceMethod<&TensorHandle::Item>("item"),
          InstanceMethod<&TensorHandle::GetRequiresGrad>("requiresGrad"),
          InstanceMethod<&TensorHandle::SetRequiresGrad>("setRequiresGrad"),
          InstanceMethod<&TensorHandle::Grad>("grad"),
          InstanceMethod<&TensorHandle::ZeroGrad>("zeroGrad"),
          InstanceMethod<&TensorHandle::Backward>("backward"),
          InstanceMethod<&TensorHandle::Bytes>("bytes"),
      });
  auto* data = new Constructor{Napi::Persistent(ctor)};
  env.SetInstanceData<Constructor>(data);
  return ctor;
}

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor tensor) {
  Napi::Object obj = env.GetInstanceData<Constructor>()->ref.New({});
  TensorHandle* handle = Napi::ObjectWrap<TensorHandle>::Unwrap(obj);
  handle->accounted_bytes_ = HostBytes(tensor);
  handle->tensor = std::move(tensor);
  if (handle->accounted_bytes_ > 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, handle->accounted_bytes_);
  }
  return obj;
}

bool TensorHandle::IsHandle(const Napi::Value& value) {
  if (!value.IsObject()) return false;
  Napi::Env env = value.Env();
  return value.As<Napi::Object>().InstanceOf(env.GetInstanceData<Constructor>()->ref.Value());
}

const at::Tensor& TensorHandle::From(const Napi::Value& value, const char* what) {
  if (!IsHandle(value)) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a tensor");
  }
  TensorHandle* handle = Napi::ObjectWrap<TensorHandle>::Unwrap(value.As<Napi::Object>());
  if (!handle->tensor.defined()) {
    throw Napi::Error::New(value.Env(), std::string(what) + " is a disposed tensor");
  }
  return handle->tensor;
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TensorHandle>(info), env_(info.Env()) {}

TensorHandle::~TensorHandle() { Release(); }

void TensorHandle::Release() {
  if (accounted_bytes_ > 0) {
    napi_adjust_external_memory(env_, -accounted_bytes_, nullptr);
    accounted_bytes_ = 0;
  }
  tensor.reset();
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor.defined());
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  const at::Tensor& t = From(Value(), "this");
  Napi::Array out = Napi::Array::New(info.Env(), t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(t.size(i)));
  return out;
}

Napi::Value TensorHandle::DType(const Napi::CallbackInfo& info) {
  return Guarded(info, [this](const Napi::CallbackInfo& i) -> Napi::Value {
    return Napi::Number::New(i.Env(), CodeFromScalarType(From(Value(), "this").scalar_type()));
  });
}

Napi::Value TensorHandle::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), From(Value(), "this").device().str());
}

// Copies the tensor's values, in row-major order, into a new ArrayBuffer.
Napi::Value TensorHandle::ToArrayBuffer(const Napi::CallbackInfo& info) {
  return Guarded(info, [this](const Napi::CallbackInfo& i) -> Napi::Value {
    at::Tensor host = From(Value(), "this").detach().to(at::kCPU).contiguous();
    size_t bytes = static_cast<size_t>(host.numel()) * host.element_size();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(i.Env(), bytes);
    if (bytes > 0) std::memcpy(buffer.Data(), host.data_ptr(), bytes);
    return buffer;
  });
}

Napi::Value TensorHandle::Item(const Napi::CallbackInfo& info) {
  return Guarded(info, [this](const Napi::CallbackInfo& i) -> Napi::Value {
    const at::Tensor& t = From(Value(), "this");
    if (t.numel() != 1) {
      throw Napi::Error::New(i.Env(), "item() needs a tensor with one element, got " +
                                          std::to_string(t.numel()));
    }
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(i.Env(), t.item<bool>());
    return Napi::Number::New(i.Env(), t.item<double>());
  });
}

Napi::Value TensorHandle::GetRequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), From(Value(), "this").requires_grad());
}

Napi::Value TensorHandle::SetRequiresGrad(const Napi::CallbackInfo& info) {
  return Guarded(info, [this](const Napi::CallbackInfo& i) -> Napi::Value {
    bool flag = i[0].As<Napi::Boolean>().Value();
    From(Value(), "this");
    tensor.set_requires_grad(flag);
    return i.Env().Undefined();
  });
}

Napi::Value TensorHandle::Grad(const Napi::CallbackInfo& info) {
  const at::Tensor& t = From(Value(), "this");
  const at::Tensor& g = t.grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}

Napi::Value TensorHandle::ZeroGrad(const Napi::CallbackInfo& info) {
  From(Value(), "this");
  tensor.mutable_grad() = at::Tensor();
  return info.Env().Undefined();
}

// backward(gradient?, retainGraph?)
Napi::Value TensorHandle::Backward(const Napi::CallbackInfo& info) {
  return Guarded(info, [this](const Napi::CallbackInfo& i) -> Napi::Value {
    const at::Tensor& t = From(Value(), "this");
    std::vector<at::Tensor> grads;
    if (i.Length() > 0 && IsHandle(i[0])) grads.push_back(From(i[0], "gradient"));
    bool retain = i.Length() > 1 && i[1].IsBoolean() && i[1].As<Napi::Boolean>().Value();
    torch::autograd::backward({t}, grads, retain);
    return i.Env().Undefined();
  });
}

Napi::Value TensorHandle::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(accounted_bytes_));
}

}  // namespace dtn
