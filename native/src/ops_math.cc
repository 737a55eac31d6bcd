// Elementwise math, comparisons, reductions, sorting.
#include <utility>

#include "args.h"
#include "errors.h"
#include "ops.h"
#include "tensor_handle.h"

namespace dtn {

namespace {

Napi::Value Out(const Args& a, at::Tensor t) { return TensorHandle::Wrap(a.Env(), std::move(t)); }

Napi::Value OutPair(const Args& a, const std::tuple<at::Tensor, at::Tensor>& p) {
  Napi::Array out = Napi::Array::New(a.Env(), 2);
  out.Set(0u, TensorHandle::Wrap(a.Env(), std::get<0>(p)));
  out.Set(1u, TensorHandle::Wrap(a.Env(), std::get<1>(p)));
  return out;
}

// Registers a binary op whose second operand is a tensor or a JS number/boolean.
template <typename TensorFn, typename ScalarFn>
void Binary(Napi::Env env, Napi::Object e, const char* name, TensorFn tf, ScalarFn sf) {
  Export(env, e, name, [tf, sf](const Napi::CallbackInfo& i) {
    Args a(i);
    if (TensorHandle::IsHandle(i[1])) return Out(a, tf(a.Tensor(0), a.Tensor(1)));
    return Out(a, sf(a.Tensor(0), a.Scalar(1)));
  });
}

template <typename Fn>
void Unary(Napi::Env env, Napi::Object e, const char* name, Fn fn) {
  Export(env, e, name, [fn](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, fn(a.Tensor(0)));
  });
}

// Reductions over all elements (no dims given) or over dims with keepdim.
template <typename AllFn, typename DimFn>
void Reduction(Napi::Env env, Napi::Object e, const char* name, AllFn all, DimFn dims) {
  Export(env, e, name, [all, dims](const Napi::CallbackInfo& i) {
    Args a(i);
    if (!a.Has(1)) return Out(a, all(a.Tensor(0)));
    return Out(a, dims(a.Tensor(0), a.Ints(1), a.Bool(2)));
  });
}

using T = at::Tensor;
using S = at::Scalar;

}  // namespace

void RegisterMathOps(Napi::Env env, Napi::Object e) {
  Binary(env, e, "add", [](const T& x, const T& y) { return x.add(y); }, [](const T& x, const S& y) { return x.add(y); });
  Binary(env, e, "sub", [](const T& x, const T& y) { return x.sub(y); }, [](const T& x, const S& y) { return x.sub(y); });
  Binary(env, e, "mul", [](const T& x, const T& y) { return x.mul(y); }, [](const T& x, const S& y) { return x.mul(y); });
  Binary(env, e, "div", [](const T& x, const T& y) { return x.div(y); }, [](const T& x, const S& y) { return x.div(y); });
  Binary(env, e, "pow", [](const T& x, const T& y) { return x.pow(y); }, [](const T& x, const S& y) { return x.pow(y); });
  Binary(env, e, "maximum", [](const T& x, const T& y) { return at::maximum(x, y); },
         [](const T& x, const S& y) { return at::clamp_min(x, y); });
  Binary(env, e, "minimum", [](const T& x, const T& y) { return at::minimum(x, y); },
         [](const T& x, const S& y) { return at::clamp_max(x, y); });
  Binary(env, e, "eq", [](const T& x, const T& y) { return x.eq(y); }, [](const T& x, const S& y) { return x.eq(y); });
  Binary(env, e, "ne", [](const T& x, const T& y) { return x.ne(y); }, [](const T& x, const S& y) { return x.ne(y); });
  Binary(env, e, "lt", [](const T& x, const T& y) { return x.lt(y); }, [](const T& x, const S& y) { return x.lt(y); });
  Binary(env, e, "le", [](const T& x, const T& y) { return x.le(y); }, [](const T& x, const S& y) { return x.le(y); });
  Binary(env, e, "gt", [](const T& x, const T& y) { return x.gt(y); }, [](const T& x, const S& y) { return x.gt(y); });
  Binary(env, e, "ge", [](const T& x, const T& y) { return x.ge(y); }, [](const T& x, const S& y) { return x.ge(y); });
  Export(env, e, "logicalAnd", [](const Napi::CallbackInfo& i) { Args a(i); return Out(a, a.Tensor(0).logical_and(a.Tensor(1))); });
  Export(env, e, "logicalOr", [](const Napi::CallbackInfo& i) { Args a(i); return Out(a, a.Tensor(0).logical_or(a.Tensor(1))); });
  Export(env, e, "matmul", [](const Napi::CallbackInfo& i) { Args a(i); return Out(a, a.Tensor(0).matmul(a.Tensor(1))); });

  Unary(env, e, "neg", [](const T& x) { return x.neg(); });
  Unary(env, e, "abs", [](const T& x) { return x.abs(); });
  Unary(env, e, "exp", [](const T& x) { return x.exp(); });
  Unary(env, e, "log", [](const T& x) { return x.log(); });
  Unary(env, e, "sqrt", [](const T& x) { return x.sqrt(); });
  Unary(env, e, "floor", [](const T& x) { return x.floor(); });
  Unary(env, e, "ceil", [](const T& x) { return x.ceil(); });
  Unary(env, e, "round", [](const T& x) { return x.round(); });
  Unary(env, e, "sigmoid", [](const T& x) { return x.sigmoid(); });
  Unary(env, e, "tanh", [](const T& x) { return x.tanh(); });
  Unary(env, e, "relu", [](const T& x) { return x.relu(); });
  // In place, on temporaries the caller owns: saves an allocation and a pass over memory.
  Export(env, e, "relu_", [](const Napi::CallbackInfo& i) {
    Args a(i);
    at::Tensor t = a.Tensor(0);
    t.relu_();
    return i.Env().Undefined();
  });
  // addcmul(self, t1, t2): self + t1 * t2 in one pass, rounded as (t1 * t2) then + self.
  Export(env, e, "addcmul", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::addcmul(a.Tensor(0), a.Tensor(1), a.Tensor(2)));
  });
  Unary(env, e, "logicalNot", [](const T& x) { return x.logical_not(); });
  Unary(env, e, "isfinite", [](const T& x) { return x.isfinite(); });
  Export(env, e, "clamp", [](const Napi::CallbackInfo& i) {
    Args a(i);
    c10::optional<S> lo, hi;
    if (a.Has(1)) lo = a.Scalar(1);
    if (a.Has(2)) hi = a.Scalar(2);
    return Out(a, a.Tensor(0).clamp(lo, hi));
  });

  Reduction(env, e, "sum", [](const T& x) { return x.sum(); },
            [](const T& x, at::IntArrayRef d, bool k) { return x.sum(d, k); });
  Reduction(env, e, "mean", [](const T& x) { return x.mean(); },
            [](const T& x, at::IntArrayRef d, bool k) { return x.mean(d, k); });
  Reduction(env, e, "amax", [](const T& x) { return x.max(); },
            [](const T& x, at::IntArrayRef d, bool k) { return x.amax(d, k); });
  Reduction(env, e, "amin", [](const T& x) { return x.min(); },
            [](const T& x, at::IntArrayRef d, bool k) { return x.amin(d, k); });
  Unary(env, e, "any", [](const T& x) { return x.any(); });
  Unary(env, e, "all", [](const T& x) { return x.all(); });
  // max/min along one dim: [values, indices].
  Export(env, e, "maxDim", [](const Napi::CallbackInfo& i) { Args a(i); return OutPair(a, a.Tensor(0).max(a.Int(1), a.Bool(2))); });
  Export(env, e, "minDim", [](const Napi::CallbackInfo& i) { Args a(i); return OutPair(a, a.Tensor(0).min(a.Int(1), a.Bool(2))); });
  Export(env, e, "argmax", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, a.Has(1) ? a.Tensor(0).argmax(a.Int(1), a.Bool(2)) : a.Tensor(0).argmax());
  });
  Export(env, e, "cumsum", [](const Napi::CallbackInfo& i) { Args a(i); return Out(a, a.Tensor(0).cumsum(a.Int(1))); });
  // sort(t, dim, descending, stable): [values, indices].
  Export(env, e, "sort", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return OutPair(a, a.Tensor(0).sort(a.Bool(3), a.Int(1), a.Bool(2)));
  });
  // topk(t, k, dim, largest, sorted): [values, indices].
  Export(env, e, "topk", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return OutPair(a, a.Tensor(0).topk(a.Int(1), a.Int(2), a.Bool(3), a.Bool(4)));
  });
}

}  // namespace dtn
