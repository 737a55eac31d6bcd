// Reading positional binding arguments. The TypeScript layer validates user input and
// always passes well-formed arguments; these checks exist so that a mistake in that layer
// surfaces as a JS TypeError naming the argument rather than as undefined behaviour.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor_handle.h"

namespace dtn {

class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info) {}

  Napi::Env Env() const { return info_.Env(); }
  bool Has(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined() && !info_[i].IsNull(); }

  const at::Tensor& Tensor(size_t i) const { return TensorHandle::From(info_[i], Name(i).c_str()); }

  c10::optional<at::Tensor> OptTensor(size_t i) const {
    if (!Has(i)) return c10::nullopt;
    return Tensor(i);
  }

  std::vector<at::Tensor> Tensors(size_t i) const {
    Napi::Array array = Array(i);
    std::vector<at::Tensor> out;
    out.reserve(array.Length());
    for (uint32_t k = 0; k < array.Length(); ++k) {
      out.push_back(TensorHandle::From(array.Get(k), Name(i).c_str()));
    }
    return out;
  }

  int64_t Int(size_t i) const { return static_cast<int64_t>(Number(i).DoubleValue()); }
  double Double(size_t i) const { return Number(i).DoubleValue(); }
  bool Bool(size_t i) const {
    if (!info_[i].IsBoolean()) Fail(i, "a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }

  c10::optional<double> OptDouble(size_t i) const {
    if (!Has(i)) return c10::nullopt;
    return Double(i);
  }

  std::string String(size_t i) const {
    if (!info_[i].IsString()) Fail(i, "a string");
    return info_[i].As<Napi::String>().Utf8Value();
  }

  std::vector<int64_t> Ints(size_t i) const {
    Napi::Array array = Array(i);
    std::vector<int64_t> out(array.Length());
    for (uint32_t k = 0; k < array.Length(); ++k) {
      Napi::Value v = array.Get(k);
      if (!v.IsNumber()) Fail(i, "an array of numbers");
      out[k] = static_cast<int64_t>(v.As<Napi::Number>().DoubleValue());
    }
    return out;
  }

  // A number or a boolean, as a libtorch scalar. JS cannot tell 2 from 2.0, so an integral
  // value becomes an integer scalar: libtorch promotes it correctly against float tensors
  // and keeps it exact against integer tensors.
  at::Scalar Scalar(size_t i) const {
    if (info_[i].IsBoolean()) return at::Scalar(info_[i].As<Napi::Boolean>().Value());
    double v = Number(i).DoubleValue();
    if (std::isfinite(v) && std::abs(v) < 9.0e15 && v == std::floor(v)) {
      return at::Scalar(static_cast<int64_t>(v));
    }
    return at::Scalar(v);
  }

  at::ScalarType DType(size_t i) const { return ScalarTypeFromCode(static_cast<int>(Int(i))); }

  c10::Device Device(size_t i) const { return c10::Device(String(i)); }

  Napi::Array Array(size_t i) const {
    if (i >= info_.Length() || !info_[i].IsArray()) Fail(i, "an array");
    return info_[i].As<Napi::Array>();
  }

 private:
  Napi::Number Number(size_t i) const {
    if (i >= info_.Length() || !info_[i].IsNumber()) Fail(i, "a number");
    return info_[i].As<Napi::Number>();
  }

  std::string Name(size_t i) const { return "argument " + std::to_string(i); }

  [[noreturn]] void Fail(size_t i, const char* expected) const {
    throw Napi::TypeError::New(info_.Env(), Name(i) + " must be " + expected);
  }

  const Napi::CallbackInfo& info_;
};

}  // namespace dtn
