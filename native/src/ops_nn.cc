// Neural-network layers and the losses Detectron trains with, forward and backward
// (autograd records them like any other libtorch op).
#include <utility>

#include "args.h"
#include "errors.h"
#include "ops.h"
#include "tensor_handle.h"

namespace dtn {

namespace {

Napi::Value Out(const Args& a, at::Tensor t) { return TensorHandle::Wrap(a.Env(), std::move(t)); }

// Loss reductions, matching lib/nn/functional.ts.
int64_t Reduction(const Args& a, size_t i) {
  std::string r = a.String(i);
  if (r == "none") return at::Reduction::None;
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  throw std::invalid_argument("unknown reduction '" + r + "' (expected none, mean or sum)");
}

}  // namespace

void RegisterNNOps(Napi::Env env, Napi::Object e) {
  // conv2d(x, weight, bias?, stride, padding, dilation, groups)
  Export(env, e, "conv2d", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::conv2d(a.Tensor(0), a.Tensor(1), a.OptTensor(2), a.Ints(3), a.Ints(4), a.Ints(5), a.Int(6)));
  });
  // convTranspose2d(x, weight, bias?, stride, padding, outputPadding, groups, dilation)
  Export(env, e, "convTranspose2d", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::conv_transpose2d(a.Tensor(0), a.Tensor(1), a.OptTensor(2), a.Ints(3), a.Ints(4), a.Ints(5),
                                       a.Int(6), a.Ints(7)));
  });
  Export(env, e, "linear", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::linear(a.Tensor(0), a.Tensor(1), a.OptTensor(2)));
  });
  Export(env, e, "softmax", [](const Napi::CallbackInfo& i) { Args a(i); return Out(a, a.Tensor(0).softmax(a.Int(1))); });
  Export(env, e, "logSoftmax", [](const Napi::CallbackInfo& i) { Args a(i); return Out(a, a.Tensor(0).log_softmax(a.Int(1))); });
  // maxPool2d(x, kernel, stride, padding, dilation, ceilMode)
  Export(env, e, "maxPool2d", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::max_pool2d(a.Tensor(0), a.Ints(1), a.Ints(2), a.Ints(3), a.Ints(4), a.Bool(5)));
  });
  // avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
  Export(env, e, "avgPool2d", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::avg_pool2d(a.Tensor(0), a.Ints(1), a.Ints(2), a.Ints(3), a.Bool(4), a.Bool(5)));
  });
  // upsampleNearest2d(x, [outH, outW])
  Export(env, e, "upsampleNearest2d", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::upsample_nearest2d(a.Tensor(0), a.Ints(1)));
  });
  // upsampleBilinear2d(x, [outH, outW], alignCorners)
  Export(env, e, "upsampleBilinear2d", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::upsample_bilinear2d(a.Tensor(0), a.Ints(1), a.Bool(2)));
  });
  // groupNorm(x, groups, weight?, bias?, eps)
  Export(env, e, "groupNorm", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::group_norm(a.Tensor(0), a.Int(1), a.OptTensor(2), a.OptTensor(3), a.Double(4)));
  });
  // bceWithLogits(logits, targets, weight?, reduction)
  Export(env, e, "bceWithLogits", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::binary_cross_entropy_with_logits(a.Tensor(0), a.Tensor(1), a.OptTensor(2), c10::nullopt,
                                                       Reduction(a, 3)));
  });
  // nllLoss(logProbs, targets, weight?, reduction, ignoreIndex)
  Export(env, e, "nllLoss", [](const Napi::CallbackInfo& i) {
    Args a(i);
    return Out(a, at::nll_loss_nd(a.Tensor(0), a.Tensor(1), a.OptTensor(2), Reduction(a, 3), a.Int(4)));
  });
}

}  // namespace dtn
