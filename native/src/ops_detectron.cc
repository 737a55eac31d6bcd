// Bindings of Detectron's own operators: RoIAlign and RoIPoolF (recorded by libtorch's
// autograd, so loss.backward() reaches the features), NMS, soft-NMS and bbox overlaps.
// This file validates arguments for every device and dispatches to the CPU kernels
// (native/kernels/*.cc) or, in a CUDA build, to the CUDA launchers (kernels_cuda.h).
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "errors.h"
#include "kernels.h"
#include "ops.h"
#include "tensor_handle.h"

#ifdef DETECTRON_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "kernels_cuda.h"
#endif

namespace dtn {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct PoolParams {
  double spatial_scale;
  int64_t pooled_h, pooled_w;
  int64_t sampling_ratio;  // RoIAlign only
};

// ---------------------------------------------------------------------------------------
// Validation. Messages name the op and the offending argument, and give what was passed.

void CheckFloating(const char* op, const char* what, const at::Tensor& t) {
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, op, ": ", what,
              " must be float32 or float64, got ", t.scalar_type());
}

void CheckDevice(const char* op, const at::Tensor& t) {
  TORCH_CHECK(t.device().is_cpu() || t.device().is_cuda(), op, ": tensors on ", t.device(),
              " are not supported (CPU or CUDA only)");
#ifndef DETECTRON_WITH_CUDA
  TORCH_CHECK(!t.device().is_cuda(), op, ": got a CUDA tensor, but this build of the addon has no CUDA kernels ",
              "(libtorch is CPU-only)");
#endif
}

void CheckSameDevice(const char* op, const char* a_name, const at::Tensor& a, const char* b_name,
                     const at::Tensor& b) {
  TORCH_CHECK(a.device() == b.device(), op, ": ", a_name, " is on ", a.device(), " but ", b_name, " is on ",
              b.device());
}

void CheckPoolParams(const char* op, const PoolParams& p) {
  TORCH_CHECK(std::isfinite(p.spatial_scale) && p.spatial_scale > 0, op,
              ": spatial_scale must be a positive number, got ", p.spatial_scale);
  TORCH_CHECK(p.pooled_h >= 1 && p.pooled_w >= 1, op, ": pooled size must be at least 1x1, got ", p.pooled_h, "x",
              p.pooled_w);
  TORCH_CHECK(p.sampling_ratio >= 0, op, ": sampling_ratio must be >= 0 (0 = adaptive), got ", p.sampling_ratio);
}

// Checks the RoIs' values: batch indices (truncated as Caffe2 does) inside the feature
// batch, finite coordinates, and bins small enough for adaptive sampling. The kernels
// index memory with these values, so this is what keeps a bad RoI from crashing the
// process. One host round trip for all three checks (a synchronisation on CUDA).
void CheckRoiValues(const char* op, const at::Tensor& rois, int64_t batch, const PoolParams& p, bool adaptive) {
  if (rois.size(0) == 0) return;
  at::Tensor r = rois.to(at::kDouble);
  at::Tensor index = r.select(1, 0);
  at::Tensor bad_index = (index <= -1).logical_or(index >= static_cast<double>(batch)).logical_or(index.isnan()).any();
  at::Tensor bad_coord = r.narrow(1, 1, 4).isfinite().logical_not().any();
  at::Tensor too_big = at::zeros({}, r.options().dtype(at::kBool));
  if (adaptive) {
    // The same bound the kernels apply (GridSize), computed loosely in double.
    at::Tensor w = (r.select(1, 3) - r.select(1, 1)).mul(p.spatial_scale).div(static_cast<double>(p.pooled_w));
    at::Tensor h = (r.select(1, 4) - r.select(1, 2)).mul(p.spatial_scale).div(static_cast<double>(p.pooled_h));
    too_big = (w > 65536.0).logical_or(h > 65536.0).any();
  }
  at::Tensor flags = at::stack({bad_index, bad_coord, too_big}).cpu();
  const bool* f = flags.data_ptr<bool>();
  TORCH_CHECK(!f[0], op, ": rois hold batch indices outside [0, ", batch, ") (first column)");
  TORCH_CHECK(!f[1], op, ": rois hold non-finite coordinates");
  TORCH_CHECK(!f[2], op, ": a RoI is so large that adaptive sampling (sampling_ratio 0) would take more than ",
              "65536 samples per bin side");
}

// `values` is the tensor whose dtype and device the op runs on (the features, or the
// output gradient for the raw backward); `shape` is the N×C×H×W feature shape.
void CheckRoiOp(const char* op, at::IntArrayRef shape, const char* values_name, const at::Tensor& values,
                const at::Tensor& rois, const PoolParams& p, bool adaptive) {
  TORCH_CHECK(shape.size() == 4, op, ": features must be 4-D (N, C, H, W), got shape ", shape);
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, op,
              ": rois must be R x 5 (batch index, x1, y1, x2, y2), got shape ", rois.sizes());
  CheckFloating(op, values_name, values);
  TORCH_CHECK(rois.scalar_type() == values.scalar_type(), op, ": rois must have the same dtype as ", values_name, " (",
              values.scalar_type(), "), got ", rois.scalar_type());
  CheckDevice(op, values);
  CheckSameDevice(op, values_name, values, "rois", rois);
  TORCH_CHECK(shape[0] >= 0 && shape[1] >= 0 && shape[2] >= 1 && shape[3] >= 1, op,
              ": features must have H, W >= 1, got shape ", shape);
  TORCH_CHECK(shape[2] * shape[3] < (int64_t{1} << 31), op, ": a feature map plane must hold fewer than 2^31 elements");
  CheckPoolParams(op, p);
  CheckRoiValues(op, rois, shape[0], p, adaptive);
}

void CheckGradOutput(const char* op, const at::Tensor& grad, const at::Tensor& rois, int64_t channels,
                     const PoolParams& p) {
  std::vector<int64_t> expected{rois.size(0), channels, p.pooled_h, p.pooled_w};
  TORCH_CHECK(grad.sizes() == at::IntArrayRef(expected), op, ": grad_output must have shape ",
              at::IntArrayRef(expected), ", got ", grad.sizes());
}

void CheckBoxes(const char* op, const char* what, const at::Tensor& t, int64_t cols) {
  TORCH_CHECK(t.dim() == 2 && t.size(1) == cols, op, ": ", what, " must be N x ", cols, ", got shape ", t.sizes());
  CheckFloating(op, what, t);
  CheckDevice(op, t);
}

#ifdef DETECTRON_WITH_CUDA
void CheckCuda(const char* op, cudaError_t err) {
  TORCH_CHECK(err == cudaSuccess, op, ": CUDA kernel launch failed: ", cudaGetErrorString(err));
}
#endif

// ---------------------------------------------------------------------------------------
// Device dispatch. Inputs arrive validated; these make them contiguous and pick a kernel.

at::Tensor RoIAlignForward(const at::Tensor& features_in, const at::Tensor& rois_in, const PoolParams& p) {
  at::Tensor features = features_in.contiguous(), rois = rois_in.contiguous();
  if (features.device().is_cpu()) {
    return kernels::roi_align_forward_cpu(features, rois, p.spatial_scale, p.pooled_h, p.pooled_w, p.sampling_ratio);
  }
#ifdef DETECTRON_WITH_CUDA
  c10::cuda::CUDAGuard guard(features.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  at::Tensor out = at::empty({rois.size(0), features.size(1), p.pooled_h, p.pooled_w}, features.options());
  const int64_t n = rois.size(0), c = features.size(1), h = features.size(2), w = features.size(3);
  if (features.scalar_type() == at::kFloat) {
    CheckCuda("roiAlign", kernels::roi_align_forward_cuda_f32(
                              features.data_ptr<float>(), rois.data_ptr<float>(), n, c, h, w, p.pooled_h, p.pooled_w,
                              static_cast<float>(p.spatial_scale), p.sampling_ratio, out.data_ptr<float>(), stream));
  } else {
    CheckCuda("roiAlign", kernels::roi_align_forward_cuda_f64(features.data_ptr<double>(), rois.data_ptr<double>(), n,
                                                              c, h, w, p.pooled_h, p.pooled_w, p.spatial_scale,
                                                              p.sampling_ratio, out.data_ptr<double>(), stream));
  }
  return out;
#else
  TORCH_CHECK(false, "roiAlign: unreachable (device checked)");
#endif
}

at::Tensor RoIAlignBackward(const at::Tensor& grad_in, const at::Tensor& rois_in, const PoolParams& p,
                            at::IntArrayRef feature_shape) {
  at::Tensor grad = grad_in.contiguous(), rois = rois_in.contiguous();
  if (grad.device().is_cpu()) {
    return kernels::roi_align_backward_cpu(grad, rois, p.spatial_scale, p.pooled_h, p.pooled_w, p.sampling_ratio,
                                           feature_shape);
  }
#ifdef DETECTRON_WITH_CUDA
  c10::cuda::CUDAGuard guard(grad.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  at::Tensor out = at::zeros(feature_shape, grad.options());
  const int64_t n = rois.size(0), c = feature_shape[1], h = feature_shape[2], w = feature_shape[3];
  if (grad.scalar_type() == at::kFloat) {
    CheckCuda("roiAlign backward",
              kernels::roi_align_backward_cuda_f32(grad.data_ptr<float>(), rois.data_ptr<float>(), n, c, h, w,
                                                   p.pooled_h, p.pooled_w, static_cast<float>(p.spatial_scale),
                                                   p.sampling_ratio, out.data_ptr<float>(), stream));
  } else {
    CheckCuda("roiAlign backward",
              kernels::roi_align_backward_cuda_f64(grad.data_ptr<double>(), rois.data_ptr<double>(), n, c, h, w,
                                                   p.pooled_h, p.pooled_w, p.spatial_scale, p.sampling_ratio,
                                                   out.data_ptr<double>(), stream));
  }
  return out;
#else
  TORCH_CHECK(false, "roiAlign backward: unreachable (device checked)");
#endif
}

std::pair<at::Tensor, at::Tensor> RoIPoolForward(const at::Tensor& features_in, const at::Tensor& rois_in,
                                                 const PoolParams& p) {
  at::Tensor features = features_in.contiguous(), rois = rois_in.contiguous();
  if (features.device().is_cpu()) {
    auto out = kernels::roi_pool_forward_cpu(features, rois, p.spatial_scale, p.pooled_h, p.pooled_w);
    return {std::get<0>(out), std::get<1>(out)};
  }
#ifdef DETECTRON_WITH_CUDA
  c10::cuda::CUDAGuard guard(features.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  std::vector<int64_t> shape{rois.size(0), features.size(1), p.pooled_h, p.pooled_w};
  at::Tensor out = at::empty(shape, features.options());
  at::Tensor argmax = at::empty(shape, features.options().dtype(at::kInt));
  const int64_t n = rois.size(0), c = features.size(1), h = features.size(2), w = features.size(3);
  if (features.scalar_type() == at::kFloat) {
    CheckCuda("roiPool", kernels::roi_pool_forward_cuda_f32(features.data_ptr<float>(), rois.data_ptr<float>(), n, c,
                                                            h, w, p.pooled_h, p.pooled_w,
                                                            static_cast<float>(p.spatial_scale),
                                                            out.data_ptr<float>(), argmax.data_ptr<int32_t>(), stream));
  } else {
    CheckCuda("roiPool", kernels::roi_pool_forward_cuda_f64(features.data_ptr<double>(), rois.data_ptr<double>(), n,
                                                            c, h, w, p.pooled_h, p.pooled_w, p.spatial_scale,
                                                            out.data_ptr<double>(), argmax.data_ptr<int32_t>(),
                                                            stream));
  }
  return {out, argmax};
#else
  TORCH_CHECK(false, "roiPool: unreachable (device checked)");
#endif
}

at::Tensor RoIPoolBackward(const at::Tensor& grad_in, const at::Tensor& argmax_in, const at::Tensor& rois_in,
                           at::IntArrayRef feature_shape) {
  at::Tensor grad = grad_in.contiguous(), argmax = argmax_in.contiguous(), rois = rois_in.contiguous();
  if (grad.device().is_cpu()) return kernels::roi_pool_backward_cpu(grad, argmax, rois, feature_shape);
#ifdef DETECTRON_WITH_CUDA
  c10::cuda::CUDAGuard guard(grad.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  at::Tensor out = at::zeros(feature_shape, grad.options());
  const int64_t n = rois.size(0), c = feature_shape[1], h = feature_shape[2], w = feature_shape[3];
  if (grad.scalar_type() == at::kFloat) {
    CheckCuda("roiPool backward",
              kernels::roi_pool_backward_cuda_f32(grad.data_ptr<float>(), argmax.data_ptr<int32_t>(),
                                                  rois.data_ptr<float>(), n, c, h, w, grad.size(2), grad.size(3),
                                                  out.data_ptr<float>(), stream));
  } else {
    CheckCuda("roiPool backward",
              kernels::roi_pool_backward_cuda_f64(grad.data_ptr<double>(), argmax.data_ptr<int32_t>(),
                                                  rois.data_ptr<double>(), n, c, h, w, grad.size(2), grad.size(3),
                                                  out.data_ptr<double>(), stream));
  }
  return out;
#else
  TORCH_CHECK(false, "roiPool backward: unreachable (device checked)");
#endif
}

#ifdef DETECTRON_WITH_CUDA
// GPU NMS: the device fills the pairwise suppression bitmask of the score-sorted boxes;
// the greedy sweep over it (inherently sequential) runs on the host. Same visiting order
// and same float32 IoU as the CPU kernel, hence the same kept set.
at::Tensor NmsCuda(const at::Tensor& dets, double thresh) {
  c10::cuda::CUDAGuard guard(dets.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
  const int64_t n = dets.size(0);
  at::Tensor order = kernels::nms_visit_order(dets.select(1, 4));
  at::Tensor sorted = dets.index_select(0, order).contiguous();
  const int64_t words = kernels::nms_mask_words(n);
  at::Tensor mask = at::empty({n, words}, dets.options().dtype(at::kLong));
  CheckCuda("nms", kernels::nms_mask_cuda(sorted.data_ptr<float>(), n, static_cast<float>(thresh),
                                          reinterpret_cast<uint64_t*>(mask.data_ptr<int64_t>()), stream));
  at::Tensor mask_cpu = mask.cpu();
  at::Tensor order_cpu = order.cpu();
  const uint64_t* m = reinterpret_cast<const uint64_t*>(mask_cpu.data_ptr<int64_t>());
  const int64_t* ord = order_cpu.data_ptr<int64_t>();
  std::vector<uint64_t> removed(words, 0);
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < n; ++i) {
    if (removed[i / 64] >> (i % 64) & 1) continue;
    kept.push_back(ord[i]);
    const uint64_t* row = m + i * words;
    for (int64_t w = i / 64; w < words; ++w) removed[w] |= row[w];
  }
  std::sort(kept.begin(), kept.end());
  at::Tensor keep = at::empty({static_cast<int64_t>(kept.size())}, at::kLong);
  std::copy(kept.begin(), kept.end(), keep.data_ptr<int64_t>());
  return keep.to(dets.device());
}
#endif

// ---------------------------------------------------------------------------------------
// Autograd. Each op is one node: forward runs the kernel, backward the gradient kernel.
// Gradients flow to the features only (RoI coordinates are treated as constants, as in
// Detectron). The gradient kernels are not themselves differentiable.

struct RoIAlignFunction : public torch::autograd::Function<RoIAlignFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& features, const at::Tensor& rois,
                            double spatial_scale, int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio) {
    PoolParams p{spatial_scale, pooled_h, pooled_w, sampling_ratio};
    ctx->save_for_backward({rois});
    ctx->saved_data["spatial_scale"] = spatial_scale;
    ctx->saved_data["pooled_h"] = pooled_h;
    ctx->saved_data["pooled_w"] = pooled_w;
    ctx->saved_data["sampling_ratio"] = sampling_ratio;
    ctx->saved_data["feature_shape"] = features.sizes().vec();
    return RoIAlignForward(features, rois, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor rois = ctx->get_saved_variables()[0];
    PoolParams p{ctx->saved_data["spatial_scale"].toDouble(), ctx->saved_data["pooled_h"].toInt(),
                 ctx->saved_data["pooled_w"].toInt(), ctx->saved_data["sampling_ratio"].toInt()};
    std::vector<int64_t> shape = ctx->saved_data["feature_shape"].toIntVector();
    at::Tensor grad_features = RoIAlignBackward(grads[0], rois, p, shape);
    return {grad_features, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct RoIPoolFunction : public torch::autograd::Function<RoIPoolFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& features, const at::Tensor& rois,
                               double spatial_scale, int64_t pooled_h, int64_t pooled_w) {
    PoolParams p{spatial_scale, pooled_h, pooled_w, 0};
    auto result = RoIPoolForward(features, rois, p);
    ctx->save_for_backward({rois, result.second});
    ctx->saved_data["feature_shape"] = features.sizes().vec();
    ctx->mark_non_differentiable({result.second});
    return {result.first, result.second};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    std::vector<int64_t> shape = ctx->saved_data["feature_shape"].toIntVector();
    at::Tensor grad_features = RoIPoolBackward(grads[0], saved[1], saved[0], shape);
    return {grad_features, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

PoolParams ReadPoolParams(const Args& a, size_t first, bool with_sampling) {
  return PoolParams{a.Double(first), a.Int(first + 1), a.Int(first + 2), with_sampling ? a.Int(first + 3) : 0};
}

Napi::Value Out(const Args& a, at::Tensor t) { return TensorHandle::Wrap(a.Env(), std::move(t)); }

Napi::Value OutPair(const Args& a, at::Tensor first, at::Tensor second) {
  Napi::Array out = Napi::Array::New(a.Env(), 2);
  out.Set(uint32_t{0}, TensorHandle::Wrap(a.Env(), std::move(first)));
  out.Set(uint32_t{1}, TensorHandle::Wrap(a.Env(), std::move(second)));
  return out;
}

// Detectron runs NMS in float32 (cython_nms takes float32 arrays); float64 dets are
// converted, so both dtypes give Detectron's result.
at::Tensor DetsAsFloat(const at::Tensor& dets) { return dets.to(at::kFloat).contiguous(); }

}  // namespace

void RegisterDetectronOps(Napi::Env env, Napi::Object e) {
  // roiAlign(features, rois, spatialScale, pooledH, pooledW, samplingRatio) -> output
  Export(env, e, "roiAlign", [](const Napi::CallbackInfo& i) {
    Args a(i);
    const at::Tensor& features = a.Tensor(0);
    const at::Tensor& rois = a.Tensor(1);
    PoolParams p = ReadPoolParams(a, 2, true);
    CheckRoiOp("roiAlign", features.sizes(), "features", features, rois, p, p.sampling_ratio == 0);
    return Out(a, RoIAlignFunction::apply(features, rois, p.spatial_scale, p.pooled_h, p.pooled_w, p.sampling_ratio));
  });
  // roiAlignBackward(gradOutput, rois, featureShape, spatialScale, pooledH, pooledW,
  // samplingRatio) -> grad features: the raw gradient kernel, for tests and benchmarks.
  Export(env, e, "roiAlignBackward", [](const Napi::CallbackInfo& i) {
    Args a(i);
    const at::Tensor& grad = a.Tensor(0);
    const at::Tensor& rois = a.Tensor(1);
    std::vector<int64_t> shape = a.Ints(2);
    PoolParams p = ReadPoolParams(a, 3, true);
    CheckRoiOp("roiAlignBackward", shape, "grad_output", grad, rois, p, p.sampling_ratio == 0);
    CheckGradOutput("roiAlignBackward", grad, rois, shape[1], p);
    return Out(a, RoIAlignBackward(grad, rois, p, shape));
  });
  // roiPool(features, rois, spatialScale, pooledH, pooledW) -> [output, argmax (int32)]
  Export(env, e, "roiPool", [](const Napi::CallbackInfo& i) {
    Args a(i);
    const at::Tensor& features = a.Tensor(0);
    const at::Tensor& rois = a.Tensor(1);
    PoolParams p = ReadPoolParams(a, 2, false);
    CheckRoiOp("roiPool", features.sizes(), "features", features, rois, p, false);
    variable_list out = RoIPoolFunction::apply(features, rois, p.spatial_scale, p.pooled_h, p.pooled_w);
    return OutPair(a, out[0], out[1]);
  });
  // nms(dets, thresh) -> kept indices (int64, ascending), as cython_nms.nms
  Export(env, e, "nms", [](const Napi::CallbackInfo& i) {
    Args a(i);
    const at::Tensor& dets = a.Tensor(0);
    double thresh = a.Double(1);
    CheckBoxes("nms", "dets", dets, 5);
    at::Tensor d = DetsAsFloat(dets);
#ifdef DETECTRON_WITH_CUDA
    if (d.device().is_cuda()) return Out(a, d.size(0) == 0 ? at::empty({0}, d.options().dtype(at::kLong)) : NmsCuda(d, thresh));
#endif
    return Out(a, kernels::nms_cpu(d, thresh));
  });
  // softNms(dets, sigma, overlapThresh, scoreThresh, method 0 hard | 1 linear | 2 gaussian)
  // -> [dets (float32, in soft-NMS's order), keep (int64)]. Sequential by nature: a CUDA
  // input is processed on the host and the results moved back.
  Export(env, e, "softNms", [](const Napi::CallbackInfo& i) {
    Args a(i);
    const at::Tensor& dets = a.Tensor(0);
    const int64_t method = a.Int(4);
    CheckBoxes("softNms", "dets", dets, 5);
    TORCH_CHECK(method >= 0 && method <= 2, "softNms: method must be 0 (hard), 1 (linear) or 2 (gaussian), got ",
                method);
    auto out = kernels::soft_nms_cpu(DetsAsFloat(dets).cpu(), a.Double(1), a.Double(2), a.Double(3), method);
    return OutPair(a, std::get<0>(out).to(dets.device()), std::get<1>(out).to(dets.device()));
  });
  // bboxOverlaps(boxes N×4, query K×4) -> N×K IoU (+1 convention), as cython_bbox
  Export(env, e, "bboxOverlaps", [](const Napi::CallbackInfo& i) {
    Args a(i);
    at::Tensor boxes = a.Tensor(0);
    at::Tensor query = a.Tensor(1);
    CheckBoxes("bboxOverlaps", "boxes", boxes, 4);
    CheckBoxes("bboxOverlaps", "query", query, 4);
    TORCH_CHECK(boxes.scalar_type() == query.scalar_type(), "bboxOverlaps: boxes are ", boxes.scalar_type(),
                " but query is ", query.scalar_type());
    CheckSameDevice("bboxOverlaps", "boxes", boxes, "query", query);
    boxes = boxes.contiguous();
    query = query.contiguous();
#ifdef DETECTRON_WITH_CUDA
    if (boxes.device().is_cuda()) {
      c10::cuda::CUDAGuard guard(boxes.device());
      cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
      at::Tensor out = at::empty({boxes.size(0), query.size(0)}, boxes.options());
      if (boxes.scalar_type() == at::kFloat) {
        CheckCuda("bboxOverlaps", kernels::bbox_overlaps_cuda_f32(boxes.data_ptr<float>(), query.data_ptr<float>(),
                                                                  boxes.size(0), query.size(0),
                                                                  out.data_ptr<float>(), stream));
      } else {
        CheckCuda("bboxOverlaps", kernels::bbox_overlaps_cuda_f64(boxes.data_ptr<double>(),
                                                                  query.data_ptr<double>(), boxes.size(0),
                                                                  query.size(0), out.data_ptr<double>(), stream));
      }
      return Out(a, out);
    }
#endif
    return Out(a, kernels::bbox_overlaps_cpu(boxes, query));
  });
}

}  // namespace dtn
