// RoIPoolF forward and backward on CUDA, Detectron's semantics (see roi_pool_cpu.cc):
// rounded coordinates, +1 sizes, floor/ceil bins clipped to the map, argmax kept.
#include <cfloat>

#include "cuda_common.cuh"
#include "kernels_cuda.h"

namespace dtn {
namespace kernels {
namespace {

using cuda::BlocksFor;
using cuda::kThreads;

template <typename T>
__device__ T Lowest();
template <>
__device__ float Lowest<float>() { return -FLT_MAX; }
template <>
__device__ double Lowest<double>() { return -DBL_MAX; }

// round(v) (roundf for float, halves away from zero, as Caffe2) as a 64-bit integer,
// clamped far outside any map so that the integer arithmetic cannot overflow.
template <typename T>
__device__ int64_t RoundCoord(T v) {
  double r = static_cast<double>(round(v));
  const double limit = 1099511627776.0;  // 2^40
  r = r < -limit ? -limit : (r > limit ? limit : r);
  return static_cast<int64_t>(r);
}

// Clipped [start, end) of bin p along one axis.
template <typename T>
__device__ void BinEdge(T roi_start_coord, T roi_end_coord, T scale, int64_t p, int64_t pooled, int64_t size,
                        int64_t& start, int64_t& end) {
  const int64_t roi_start = RoundCoord(roi_start_coord * scale);
  const int64_t roi_end = RoundCoord(roi_end_coord * scale);
  int64_t roi_size = roi_end - roi_start + 1;
  if (roi_size < 1) roi_size = 1;
  const T bin = static_cast<T>(roi_size) / static_cast<T>(pooled);
  int64_t lo = static_cast<int64_t>(floor(static_cast<T>(p) * bin)) + roi_start;
  int64_t hi = static_cast<int64_t>(ceil(static_cast<T>(p + 1) * bin)) + roi_start;
  start = lo < 0 ? 0 : (lo > size ? size : lo);
  end = hi < 0 ? 0 : (hi > size ? size : hi);
}

template <typename T>
__global__ void ForwardKernel(int64_t total, const T* features, const T* rois, T scale, int64_t channels,
                              int64_t height, int64_t width, int64_t pooled_h, int64_t pooled_w, T* output,
                              int32_t* argmax) {
  DTN_CUDA_LOOP(index, total) {
    const int64_t pw = index % pooled_w;
    const int64_t ph = (index / pooled_w) % pooled_h;
    const int64_t c = (index / pooled_w / pooled_h) % channels;
    const int64_t r = index / pooled_w / pooled_h / channels;
    const T* roi = rois + r * 5;
    const int64_t batch = static_cast<int64_t>(roi[0]);
    int64_t hs, he, ws, we;
    BinEdge(roi[2], roi[4], scale, ph, pooled_h, height, hs, he);
    BinEdge(roi[1], roi[3], scale, pw, pooled_w, width, ws, we);
    const bool empty = he <= hs || we <= ws;
    T best = empty ? T(0) : Lowest<T>();
    int32_t best_idx = -1;
    const T* data = features + (batch * channels + c) * height * width;
    for (int64_t h = hs; h < he; ++h) {
      for (int64_t w = ws; w < we; ++w) {
        const int64_t idx = h * width + w;
        if (data[idx] > best) {
          best = data[idx];
          best_idx = static_cast<int32_t>(idx);
        }
      }
    }
    output[index] = best;
    argmax[index] = best_idx;
  }
}

template <typename T>
__global__ void BackwardKernel(int64_t total, const T* grad_output, const int32_t* argmax, const T* rois,
                               int64_t channels, int64_t plane, int64_t bins, T* grad_features) {
  DTN_CUDA_LOOP(index, total) {
    const int32_t a = argmax[index];
    if (a < 0 || a >= plane) continue;
    const int64_t c = (index / bins) % channels;
    const int64_t r = index / bins / channels;
    const int64_t batch = static_cast<int64_t>(rois[r * 5]);
    atomicAdd(grad_features + (batch * channels + c) * plane + a, grad_output[index]);
  }
}

template <typename T>
cudaError_t LaunchForward(const T* features, const T* rois, int64_t num_rois, int64_t channels, int64_t height,
                          int64_t width, int64_t pooled_h, int64_t pooled_w, T scale, T* output, int32_t* argmax,
                          cudaStream_t stream) {
  const int64_t total = num_rois * channels * pooled_h * pooled_w;
  if (total == 0) return cudaSuccess;
  ForwardKernel<T><<<BlocksFor(total), kThreads, 0, stream>>>(total, features, rois, scale, channels, height, width,
                                                              pooled_h, pooled_w, output, argmax);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchBackward(const T* grad_output, const int32_t* argmax, const T* rois, int64_t num_rois,
                           int64_t channels, int64_t height, int64_t width, int64_t pooled_h, int64_t pooled_w,
                           T* grad_features, cudaStream_t stream) {
  const int64_t total = num_rois * channels * pooled_h * pooled_w;
  if (total == 0) return cudaSuccess;
  BackwardKernel<T><<<BlocksFor(total), kThreads, 0, stream>>>(total, grad_output, argmax, rois, channels,
                                                               height * width, pooled_h * pooled_w, grad_features);
  return cudaGetLastError();
}

}  // namespace

cudaError_t roi_pool_forward_cuda_f32(const float* features, const float* rois, int64_t num_rois,
                                      int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                      int64_t pooled_w, float spatial_scale, float* output, int32_t* argmax,
                                      cudaStream_t stream) {
  return LaunchForward(features, rois, num_rois, channels, height, width, pooled_h, pooled_w, spatial_scale, output,
                       argmax, stream);
}

cudaError_t roi_pool_forward_cuda_f64(const double* features, const double* rois, int64_t num_rois,
                                      int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                      int64_t pooled_w, double spatial_scale, double* output, int32_t* argmax,
                                      cudaStream_t stream) {
  return LaunchForward(features, rois, num_rois, channels, height, width, pooled_h, pooled_w, spatial_scale, output,
                       argmax, stream);
}

cudaError_t roi_pool_backward_cuda_f32(const float* grad_output, const int32_t* argmax, const float* rois,
                                       int64_t num_rois, int64_t channels, int64_t height, int64_t width,
                                       int64_t pooled_h, int64_t pooled_w, float* grad_features,
                                       cudaStream_t stream) {
  return LaunchBackward(grad_output, argmax, rois, num_rois, channels, height, width, pooled_h, pooled_w,
                        grad_features, stream);
}

cudaError_t roi_pool_backward_cuda_f64(const double* grad_output, const int32_t* argmax, const double* rois,
                                       int64_t num_rois, int64_t channels, int64_t height, int64_t width,
                                       int64_t pooled_h, int64_t pooled_w, double* grad_features,
                                       cudaStream_t stream) {
  return LaunchBackward(grad_output, argmax, rois, num_rois, channels, height, width, pooled_h, pooled_w,
                        grad_features, stream);
}

}  // namespace kernels
}  // namespace dtn
