// RoIAlign forward and backward on CUDA with Caffe2's semantics: the same geometry and
// sampling as roi_align_cpu.cc, one thread per pooled output element. (FMA contraction is
// allowed here: RoIAlign is compared within a tolerance, not bit for bit.)
#include <cmath>

#include "cuda_common.cuh"
#include "kernels_cuda.h"

namespace dtn {
namespace kernels {
namespace {

using cuda::BlocksFor;
using cuda::kThreads;

// Where one RoI samples the map; see roi_align_cpu.cc for the reasoning behind each step.
template <typename T>
struct Geometry {
  int64_t batch;
  T start_h, start_w, bin_h, bin_w;
  int grid_h, grid_w;
  T count;
};

// Adaptive grids are capped as the host refuses larger ones; the cap only guards against
// a runaway loop if validation were bypassed.
template <typename T>
__device__ int GridSize(int64_t sampling_ratio, T bin_side) {
  if (sampling_ratio > 0) return static_cast<int>(sampling_ratio);
  T grid = ceil(bin_side);
  return grid <= T(65536) ? static_cast<int>(grid) : 65536;
}

template <typename T>
__device__ Geometry<T> MakeGeometry(const T* roi, T scale, int64_t pooled_h, int64_t pooled_w,
                                    int64_t sampling_ratio) {
  Geometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  g.start_w = roi[1] * scale;
  g.start_h = roi[2] * scale;
  T end_w = roi[3] * scale;
  T end_h = roi[4] * scale;
  T roi_w = max(end_w - g.start_w, static_cast<T>(1.));
  T roi_h = max(end_h - g.start_h, static_cast<T>(1.));
  g.bin_h = roi_h / static_cast<T>(pooled_h);
  g.bin_w = roi_w / static_cast<T>(pooled_w);
  g.grid_h = GridSize(sampling_ratio, g.bin_h);
  g.grid_w = GridSize(sampling_ratio, g.bin_w);
  g.count = static_cast<T>(static_cast<int64_t>(g.grid_h) * g.grid_w);
  return g;
}

template <typename T>
__device__ T SampleCoord(T start, int64_t p, T bin, int i, int grid) {
  return start + static_cast<T>(p) * bin + static_cast<T>(i + .5f) * bin / static_cast<T>(grid);
}

// Bilinear footprint along one axis; false when the sample lies beyond -1 or the size.
template <typename T>
__device__ bool AxisSample(T v, int64_t size, int64_t& low, int64_t& high, T& l, T& h) {
  if (!(v >= -1.0 && v <= static_cast<T>(size))) return false;
  if (v <= 0) v = 0;
  low = static_cast<int64_t>(v);
  if (low >= size - 1) {
    high = low = size - 1;
    v = static_cast<T>(low);
  } else {
    high = low + 1;
  }
  l = v - low;
  h = 1. - l;
  return true;
}

// Decomposes a flat output index into (roi, channel, ph, pw).
struct OutIndex {
  int64_t r, c, ph, pw;
  __device__ OutIndex(int64_t index, int64_t channels, int64_t pooled_h, int64_t pooled_w) {
    pw = index % pooled_w;
    ph = (index / pooled_w) % pooled_h;
    c = (index / pooled_w / pooled_h) % channels;
    r = index / pooled_w / pooled_h / channels;
  }
};

template <typename T>
__global__ void ForwardKernel(int64_t total, const T* features, const T* rois, T scale, int64_t channels,
                              int64_t height, int64_t width, int64_t pooled_h, int64_t pooled_w,
                              int64_t sampling_ratio, T* output) {
  DTN_CUDA_LOOP(index, total) {
    OutIndex o(index, channels, pooled_h, pooled_w);
    Geometry<T> g = MakeGeometry(rois + o.r * 5, scale, pooled_h, pooled_w, sampling_ratio);
    const T* data = features + (g.batch * channels + o.c) * height * width;
    T val = 0.;
    for (int iy = 0; iy < g.grid_h; ++iy) {
      int64_t y_low, y_high;
      T ly, hy;
      bool y_in = AxisSample(SampleCoord(g.start_h, o.ph, g.bin_h, iy, g.grid_h), height, y_low, y_high, ly, hy);
      for (int ix = 0; ix < g.grid_w; ++ix) {
        int64_t x_low, x_high;
        T lx, hx;
        bool x_in = AxisSample(SampleCoord(g.start_w, o.pw, g.bin_w, ix, g.grid_w), width, x_low, x_high, lx, hx);
        if (!(x_in && y_in)) continue;
        val += hy * hx * data[y_low * width + x_low] + hy * lx * data[y_low * width + x_high] +
               ly * hx * data[y_high * width + x_low] + ly * lx * data[y_high * width + x_high];
      }
    }
    output[index] = val / g.count;
  }
}

template <typename T>
__global__ void BackwardKernel(int64_t total, const T* grad_output, const T* rois, T scale, int64_t channels,
                               int64_t height, int64_t width, int64_t pooled_h, int64_t pooled_w,
                               int64_t sampling_ratio, T* grad_features) {
  DTN_CUDA_LOOP(index, total) {
    OutIndex o(index, channels, pooled_h, pooled_w);
    Geometry<T> g = MakeGeometry(rois + o.r * 5, scale, pooled_h, pooled_w, sampling_ratio);
    T* dst = grad_features + (g.batch * channels + o.c) * height * width;
    const T top = grad_output[index];
    for (int iy = 0; iy < g.grid_h; ++iy) {
      int64_t y_low, y_high;
      T ly, hy;
      bool y_in = AxisSample(SampleCoord(g.start_h, o.ph, g.bin_h, iy, g.grid_h), height, y_low, y_high, ly, hy);
      for (int ix = 0; ix < g.grid_w; ++ix) {
        int64_t x_low, x_high;
        T lx, hx;
        bool x_in = AxisSample(SampleCoord(g.start_w, o.pw, g.bin_w, ix, g.grid_w), width, x_low, x_high, lx, hx);
        if (!(x_in && y_in)) continue;
        atomicAdd(dst + y_low * width + x_low, top * (hy * hx) / g.count);
        atomicAdd(dst + y_low * width + x_high, top * (hy * lx) / g.count);
        atomicAdd(dst + y_high * width + x_low, top * (ly * hx) / g.count);
        atomicAdd(dst + y_high * width + x_high, top * (ly * lx) / g.count);
      }
    }
  }
}

template <typename T>
cudaError_t LaunchForward(const T* features, const T* rois, int64_t num_rois, int64_t channels, int64_t height,
                          int64_t width, int64_t pooled_h, int64_t pooled_w, T scale, int64_t sampling_ratio,
                          T* output, cudaStream_t stream) {
  const int64_t total = num_rois * channels * pooled_h * pooled_w;
  if (total == 0) return cudaSuccess;
  ForwardKernel<T><<<BlocksFor(total), kThreads, 0, stream>>>(total, features, rois, scale, channels, height, width,
                                                              pooled_h, pooled_w, sampling_ratio, output);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchBackward(const T* grad_output, const T* rois, int64_t num_rois, int64_t channels, int64_t height,
                           int64_t width, int64_t pooled_h, int64_t pooled_w, T scale, int64_t sampling_ratio,
                           T* grad_features, cudaStream_t stream) {
  const int64_t total = num_rois * channels * pooled_h * pooled_w;
  if (total == 0) return cudaSuccess;
  BackwardKernel<T><<<BlocksFor(total), kThreads, 0, stream>>>(total, grad_output, rois, scale, channels, height,
                                                               width, pooled_h, pooled_w, sampling_ratio,
                                                               grad_features);
  return cudaGetLastError();
}

}  // namespace

cudaError_t roi_align_forward_cuda_f32(const float* features, const float* rois, int64_t num_rois,
                                       int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                       int64_t pooled_w, float spatial_scale, int64_t sampling_ratio,
                                       float* output, cudaStream_t stream) {
  return LaunchForward(features, rois, num_rois, channels, height, width, pooled_h, pooled_w, spatial_scale,
                       sampling_ratio, output, stream);
}

cudaError_t roi_align_forward_cuda_f64(const double* features, const double* rois, int64_t num_rois,
                                       int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                       int64_t pooled_w, double spatial_scale, int64_t sampling_ratio,
                                       double* output, cudaStream_t stream) {
  return LaunchForward(features, rois, num_rois, channels, height, width, pooled_h, pooled_w, spatial_scale,
                       sampling_ratio, output, stream);
}

cudaError_t roi_align_backward_cuda_f32(const float* grad_output, const float* rois, int64_t num_rois,
                                        int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                        int64_t pooled_w, float spatial_scale, int64_t sampling_ratio,
                                        float* grad_features, cudaStream_t stream) {
  return LaunchBackward(grad_output, rois, num_rois, channels, height, width, pooled_h, pooled_w, spatial_scale,
                        sampling_ratio, grad_features, stream);
}

cudaError_t roi_align_backward_cuda_f64(const double* grad_output, const double* rois, int64_t num_rois,
                                        int64_t channels, int64_t height, int64_t width, int64_t pooled_h,
                                        int64_t pooled_w, double spatial_scale, int64_t sampling_ratio,
                                        double* grad_features, cudaStream_t stream) {
  return LaunchBackward(grad_output, rois, num_rois, channels, height, width, pooled_h, pooled_w, spatial_scale,
                        sampling_ratio, grad_features, stream);
}

}  // namespace kernels
}  // namespace dtn
