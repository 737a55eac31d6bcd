// Launchers of Detectron's CUDA kernels. They take raw device pointers and a stream, so
// the .cu files need no ATen or torch headers and compile with any nvcc, whether or not
// libtorch has CUDA. Every pointer is a contiguous device buffer; the caller
// (native/src/ops_detectron.cc) validates shapes, dtypes and RoI batch indices, zeroes
// gradient buffers, and allocates outputs. Each launcher enqueues its work on `stream`
// and returns cudaGetLastError() (cudaSuccess when nothing had to be launched).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace dtn {
namespace kernels {

// RoIAlign (Caffe2 semantics, see kernels.h). features N×C×H×W, rois R×5, output R×C×PH×PW.
cudaError_t roi_align_forward_cuda_f32(const float* features, const float* rois, int64_t num_rois,
                                       int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                       int64_t pooled_w, float spatial_scale, int64_t sampling_ratio,
                                       float* output, cudaStream_t stream);
cudaError_t roi_align_forward_cuda_f64(const double* features, const double* rois, int64_t num_rois,
                                       int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                       int64_t pooled_w, double spatial_scale, int64_t sampling_ratio,
                                       double* output, cudaStream_t stream);
// Accumulates into grad_features (N×C×H×W, zeroed by the caller) with atomics.
cudaError_t roi_align_backward_cuda_f32(const float* grad_output, const float* rois, int64_t num_rois,
                                        int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                        int64_t pooled_w, float spatial_scale, int64_t sampling_ratio,
                                        float* grad_features, cudaStream_t stream);
cudaError_t roi_align_backward_cuda_f64(const double* grad_output, const double* rois, int64_t num_rois,
                                        int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                        int64_t pooled_w, double spatial_scale, int64_t sampling_ratio,
                                        double* grad_features, cudaStream_t stream);

// RoIPoolF: output and argmax (int32 offset in the H×W plane, -1 for an empty bin).
cudaError_t roi_pool_forward_cuda_f32(const float* features, const float* rois, int64_t num_rois,
                                      int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                      int64_t pooled_w, float spatial_scale, float* output, int32_t* argmax,
                                      cudaStream_t stream);
cudaError_t roi_pool_forward_cuda_f64(const double* features, const double* rois, int64_t num_rois,
                                      int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                      int64_t pooled_w, double spatial_scale, double* output, int32_t* argmax,
                                      cudaStream_t stream);
cudaError_t roi_pool_backward_cuda_f32(const float* grad_output, const int32_t* argmax, const float* rois,
                                       int64_t num_rois, int64_t channels, int64_t height, int64_t width,
                                       int64_t pooled_h, int64_t pooled_w, float* grad_features,
                                       cudaStream_t stream);
cudaError_t roi_pool_backward_cuda_f64(const double* grad_output, const int32_t* argmax, const double* rois,
                                       int64_t num_rois, int64_t channels, int64_t height, int64_t width,
                                       int64_t pooled_h, int64_t pooled_w, double* grad_features,
                                       cudaStream_t stream);

// Number of 64-bit words per row of the NMS suppression mask.
inline int64_t nms_mask_words(int64_t n) { return (n + 63) / 64; }
// boxes: n×5 float32 already in visiting order (descending score). Fills mask
// (n × nms_mask_words(n) words): bit j of row i is set when j > i and IoU(i, j) >= thresh,
// with cython_nms's float32 arithmetic (no FMA contraction).
cudaError_t nms_mask_cuda(const float* sorted_boxes, int64_t n, float thresh, uint64_t* mask, cudaStream_t stream);

// cython_bbox.bbox_overlaps: boxes N×4, query K×4, overlaps N×K.
cudaError_t bbox_overlaps_cuda_f32(const float* boxes, const float* query, int64_t n, int64_t k, float* overlaps,
                                   cudaStream_t stream);
cudaError_t bbox_overlaps_cuda_f64(const double* boxes, const double* query, int64_t n, int64_t k,
                                   double* overlaps, cudaStream_t stream);

}  // namespace kernels
}  // namespace dtn
