// Detectron's own operators on CPU: RoIAlign and RoIPoolF (Caffe2 semantics), and the
// box utilities of detectron/utils/cython_nms.pyx and cython_bbox.pyx.
//
// These functions assume validated inputs: contiguous CPU tensors of the documented
// shapes and dtypes, batch indices inside the feature batch and finite coordinates.
// native/src/ops_detectron.cc checks all of that (for every device) before calling them,
// so the kernels stay free of argument handling.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <tuple>

namespace dtn {
namespace kernels {

// RoIAlign (Mask R-CNN) as Caffe2's RoIAlign op: no half-pixel offset, RoI sides forced
// to at least 1, sampling_ratio 0 meaning ceil(roi side / pooled side) samples per bin.
// features N×C×H×W and rois R×5 (batch index, x1, y1, x2, y2), both float or both double.
at::Tensor roi_align_forward_cpu(const at::Tensor& features, const at::Tensor& rois, double spatial_scale,
                                 int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio);
// Gradient with respect to the features (shape feature_shape) of sum(output × grad_output).
at::Tensor roi_align_backward_cpu(const at::Tensor& grad_output, const at::Tensor& rois, double spatial_scale,
                                  int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio,
                                  at::IntArrayRef feature_shape);

// RoIPoolF (Fast R-CNN max pooling, Detectron's variant): returns the pooled output and
// the int32 argmax (offset inside the H×W plane, -1 for an empty bin).
std::tuple<at::Tensor, at::Tensor> roi_pool_forward_cpu(const at::Tensor& features, const at::Tensor& rois,
                                                        double spatial_scale, int64_t pooled_h, int64_t pooled_w);
at::Tensor roi_pool_backward_cpu(const at::Tensor& grad_output, const at::Tensor& argmax, const at::Tensor& rois,
                                 at::IntArrayRef feature_shape);

// The order in which greedy NMS visits boxes: descending score. Ties (which Detectron
// leaves undefined) put the higher index first, as numpy's argsort()[::-1] does for a
// stable sort; NaN scores come first, as they sort last in numpy. Shared with the CUDA
// path so that both visit boxes in the same order.
at::Tensor nms_visit_order(const at::Tensor& scores);

// cython_nms.nms: dets N×5 float32 (x1, y1, x2, y2, score); returns the kept indices as
// int64 in ascending index order, with float32 IoU and the +1 area convention.
at::Tensor nms_cpu(const at::Tensor& dets, double thresh);

// cython_nms.soft_nms: dets N×5 float32; method 0 hard, 1 linear, 2 gaussian. Returns the
// rescored boxes in the order it leaves them and their original indices (int64), bit for
// bit as Detectron's compiled Cython computes them.
std::tuple<at::Tensor, at::Tensor> soft_nms_cpu(const at::Tensor& dets, double sigma, double overlap_thresh,
                                                double score_thresh, int64_t method);

// cython_bbox.bbox_overlaps: boxes N×4 and query K×4 (same dtype, float or double);
// returns N×K IoU with the +1 convention in the input dtype. For float32 the arithmetic
// is that of Cython's C (float32 variables, areas and union evaluated in double), which
// reproduces Detectron bit for bit; float64 inputs are computed in double throughout.
at::Tensor bbox_overlaps_cpu(const at::Tensor& boxes, const at::Tensor& query);

}  // namespace kernels
}  // namespace dtn
