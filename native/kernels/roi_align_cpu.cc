// RoIAlign forward and backward on CPU with Caffe2's semantics (the op Detectron trains
// and tests with). The arithmetic follows Caffe2's kernel step by step (same expressions,
// same order of operations, same dtype), because Detectron's numbers are the target:
// a mathematically equivalent rewrite would differ in the last bits.
#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels.h"

namespace dtn {
namespace kernels {

namespace {

// Where one RoI samples the feature map.
template <typename T>
struct RoiGeometry {
  int64_t batch;
  T start_h, start_w;
  T bin_h, bin_w;
  int64_t grid_h, grid_w;  // samples per bin along each axis
  T count;                 // grid_h * grid_w: the bin average divides by it
};

// Adaptive sampling (sampling_ratio 0) takes ceil(roi side / pooled side) samples per bin;
// an absurdly large RoI would overflow the int conversion or run for hours, so refuse it.
// `bin_side` is roi side / pooled side, computed in T as Caffe2 does.
int64_t GridSize(int64_t sampling_ratio, double bin_side) {
  if (sampling_ratio > 0) return sampling_ratio;
  double grid = std::ceil(bin_side);
  if (!(grid <= 65536.0)) {
    throw std::invalid_argument("RoIAlign: a RoI bin of " + std::to_string(bin_side) +
                                " feature cells needs more than 65536 adaptive samples per axis");
  }
  return static_cast<int64_t>(grid);
}

template <typename T>
RoiGeometry<T> MakeGeometry(const T* roi, T scale, int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio) {
  RoiGeometry<T> g;
  g.batch = static_cast<int64_t>(roi[0]);
  // No rounding and no half-pixel offset: that is what distinguishes Caffe2's RoIAlign.
  g.start_w = roi[1] * scale;
  g.start_h = roi[2] * scale;
  T end_w = roi[3] * scale;
  T end_h = roi[4] * scale;
  // Malformed (inverted or tiny) RoIs are treated as 1×1.
  T roi_w = std::max(end_w - g.start_w, static_cast<T>(1.));
  T roi_h = std::max(end_h - g.start_h, static_cast<T>(1.));
  g.bin_h = roi_h / static_cast<T>(pooled_h);
  g.bin_w = roi_w / static_cast<T>(pooled_w);
  g.grid_h = GridSize(sampling_ratio, static_cast<double>(g.bin_h));
  g.grid_w = GridSize(sampling_ratio, static_cast<double>(g.bin_w));
  g.count = static_cast<T>(g.grid_h * g.grid_w);
  return g;
}

// Bilinear footprint of one sample along one axis. Samples beyond -1 or the map size
// contribute nothing (returns false); others are clamped into the map, and a sample in the
// last row/column uses that row twice. The negated comparison also rejects NaN.
template <typename T>
bool AxisSample(T v, int64_t size, int64_t& low, int64_t& high, T& l, T& h) {
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

// The sample coordinate of step `i` of bin `p` (Caffe2's expression, evaluated in T).
template <typename T>
T SampleCoord(T start, int64_t p, T bin, int64_t i, int64_t grid) {
  return start + static_cast<T>(p) * bin + static_cast<T>(i + .5f) * bin / static_cast<T>(grid);
}

// The bilinear footprint of one sample coordinate along one axis.
template <typename T>
struct AxisTap {
  int64_t low, high;
  T l, h;      // weights of high and low (Caffe2's ly/hy, lx/hx)
  bool valid;  // false: beyond -1 or the map, the sample contributes nothing
};

// Sampling tables of consecutive RoIs. Bilinear weights are separable (w1 = hy * hx, ...),
// so a RoI needs pooled * grid taps per axis instead of a table per sample; that keeps
// the tables of hundreds of RoIs small enough to stay in cache while every channel plane
// is swept over all of them.
template <typename T>
struct RoiTables {
  std::vector<RoiGeometry<T>> geometry;
  std::vector<int64_t> y_start, x_start;  // offsets of each RoI's taps in ys / xs
  std::vector<AxisTap<T>> ys, xs;

  void Build(const T* rois, int64_t first, int64_t last, T scale, int64_t height, int64_t width, int64_t pooled_h,
             int64_t pooled_w, int64_t sampling_ratio) {
    geometry.clear();
    y_start.clear();
    x_start.clear();
    ys.clear();
    xs.clear();
    for (int64_t r = first; r < last; ++r) {
      RoiGeometry<T> g = MakeGeometry(rois + r * 5, scale, pooled_h, pooled_w, sampling_ratio);
      geometry.push_back(g);
      y_start.push_back(static_cast<int64_t>(ys.size()));
      x_start.push_back(static_cast<int64_t>(xs.size()));
      AppendAxis(g.start_h, g.bin_h, g.grid_h, pooled_h, height, ys);
      AppendAxis(g.start_w, g.bin_w, g.grid_w, pooled_w, width, xs);
    }
  }

  // Taps of bin p, step i at index p * grid + i.
  static void AppendAxis(T start, T bin, int64_t grid, int64_t pooled, int64_t size, std::vector<AxisTap<T>>& out) {
    for (int64_t p = 0; p < pooled; ++p) {
      for (int64_t i = 0; i < grid; ++i) {
        AxisTap<T> t{0, 0, 0, 0, false};
        t.valid = AxisSample(SampleCoord(start, p, bin, i, grid), size, t.low, t.high, t.l, t.h);
        out.push_back(t);
      }
    }
  }
};

// Taps per RoI along both axes, to size RoI chunks: a chunk's tables stay around a
// megabyte (hundreds of ordinary RoIs; fewer when adaptive sampling makes grids large).
template <typename T>
int64_t ChunkEnd(const T* rois, int64_t first, int64_t num_rois, T scale, int64_t pooled_h, int64_t pooled_w,
                 int64_t sampling_ratio) {
  constexpr int64_t kBudgetTaps = 32768;
  int64_t taps = 0, r = first;
  while (r < num_rois && (r == first || taps < kBudgetTaps)) {
    RoiGeometry<T> g = MakeGeometry(rois + r * 5, scale, pooled_h, pooled_w, sampling_ratio);
    taps += pooled_h * g.grid_h + pooled_w * g.grid_w;
    ++r;
  }
  return r;
}

// Average of bin (ph, pw) of RoI k of the tables over one channel plane, in Caffe2's
// order: samples row by row, each as w1*v1 + w2*v2 + w3*v3 + w4*v4 added to the sum.
template <typename T>
T PoolBin(const RoiTables<T>& t, int64_t k, int64_t ph, int64_t pw, const T* data, int64_t width) {
  const RoiGeometry<T>& g = t.geometry[k];
  const AxisTap<T>* ys = t.ys.data() + t.y_start[k] + ph * g.grid_h;
  const AxisTap<T>* xs = t.xs.data() + t.x_start[k] + pw * g.grid_w;
  T val = 0.;
  for (int64_t iy = 0; iy < g.grid_h; ++iy) {
    const AxisTap<T>& y = ys[iy];
    if (!y.valid) continue;
    const T* row_low = data + y.low * width;
    const T* row_high = data + y.high * width;
    for (int64_t ix = 0; ix < g.grid_w; ++ix) {
      const AxisTap<T>& x = xs[ix];
      if (!x.valid) continue;
      const T w1 = y.h * x.h, w2 = y.h * x.l, w3 = y.l * x.h, w4 = y.l * x.l;
      val += w1 * row_low[x.low] + w2 * row_low[x.high] + w3 * row_high[x.low] + w4 * row_high[x.high];
    }
  }
  return val / g.count;
}

// Scatters top_diff of bin (ph, pw) of RoI k with the forward's weights, as Caffe2's
// gradient op does (g = top * w / count per tap).
template <typename T>
void ScatterBin(const RoiTables<T>& t, int64_t k, int64_t ph, int64_t pw, T top, T* data, int64_t width) {
  const RoiGeometry<T>& g = t.geometry[k];
  const AxisTap<T>* ys = t.ys.data() + t.y_start[k] + ph * g.grid_h;
  const AxisTap<T>* xs = t.xs.data() + t.x_start[k] + pw * g.grid_w;
  for (int64_t iy = 0; iy < g.grid_h; ++iy) {
    const AxisTap<T>& y = ys[iy];
    if (!y.valid) continue;
    T* row_low = data + y.low * width;
    T* row_high = data + y.high * width;
    for (int64_t ix = 0; ix < g.grid_w; ++ix) {
      const AxisTap<T>& x = xs[ix];
      if (!x.valid) continue;
      row_low[x.low] += top * (y.h * x.h) / g.count;
      row_low[x.high] += top * (y.h * x.l) / g.count;
      row_high[x.low] += top * (y.l * x.h) / g.count;
      row_high[x.high] += top * (y.l * x.l) / g.count;
    }
  }
}

template <typename T>
void ForwardImpl(const at::Tensor& features, const at::Tensor& rois, double spatial_scale, int64_t pooled_h,
                 int64_t pooled_w, int64_t sampling_ratio, at::Tensor& output) {
  const int64_t channels = features.size(1), height = features.size(2), width = features.size(3);
  const int64_t num_rois = rois.size(0), bins = pooled_h * pooled_w, plane = height * width;
  const T* feat = features.data_ptr<T>();
  const T* roi_data = rois.data_ptr<T>();
  T* out = output.data_ptr<T>();
  const T scale = static_cast<T>(spatial_scale);  // Caffe2 keeps spatial_scale as a float

  RoiTables<T> tables;
  for (int64_t first = 0; first < num_rois;) {
    const int64_t last = ChunkEnd(roi_data, first, num_rois, scale, pooled_h, pooled_w, sampling_ratio);
    tables.Build(roi_data, first, last, scale, height, width, pooled_h, pooled_w, sampling_ratio);
    const int64_t chunk = last - first;
    // Work items run channel-major: a thread sweeps one channel plane over all RoIs of
    // the chunk while the plane is in cache, instead of fetching each RoI's window of
    // every plane from memory. Splitting the flat range still balances few channels.
    at::parallel_for(0, channels * chunk, std::max<int64_t>(1, 2048 / bins), [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t c = item / chunk, k = item % chunk;
        const T* data = feat + (tables.geometry[k].batch * channels + c) * plane;
        T* dst = out + ((first + k) * channels + c) * bins;
        for (int64_t ph = 0; ph < pooled_h; ++ph) {
          for (int64_t pw = 0; pw < pooled_w; ++pw) dst[ph * pooled_w + pw] = PoolBin(tables, k, ph, pw, data, width);
        }
      }
    });
    first = last;
  }
}

template <typename T>
void BackwardImpl(const at::Tensor& grad_output, const at::Tensor& rois, double spatial_scale, int64_t pooled_h,
                  int64_t pooled_w, int64_t sampling_ratio, at::Tensor& grad_features) {
  const int64_t channels = grad_features.size(1), height = grad_features.size(2), width = grad_features.size(3);
  const int64_t num_rois = rois.size(0), bins = pooled_h * pooled_w, plane = height * width;
  const T* gout = grad_output.data_ptr<T>();
  const T* roi_data = rois.data_ptr<T>();
  T* gfeat = grad_features.data_ptr<T>();
  const T scale = static_cast<T>(spatial_scale);

  RoiTables<T> tables;
  for (int64_t first = 0; first < num_rois;) {
    const int64_t last = ChunkEnd(roi_data, first, num_rois, scale, pooled_h, pooled_w, sampling_ratio);
    tables.Build(roi_data, first, last, scale, height, width, pooled_h, pooled_w, sampling_ratio);
    // Threads own disjoint channel ranges: RoI r, channel c only writes plane (batch, c),
    // so no two threads touch the same element, and each element's sum runs RoI by RoI
    // whatever the thread count (deterministic).
    at::parallel_for(0, channels, 1, [&](int64_t c_begin, int64_t c_end) {
      for (int64_t c = c_begin; c < c_end; ++c) {
        for (int64_t k = 0; k < last - first; ++k) {
          T* dst = gfeat + (tables.geometry[k].batch * channels + c) * plane;
          const T* src = gout + ((first + k) * channels + c) * bins;
          for (int64_t ph = 0; ph < pooled_h; ++ph) {
            for (int64_t pw = 0; pw < pooled_w; ++pw) ScatterBin(tables, k, ph, pw, src[ph * pooled_w + pw], dst, width);
          }
        }
      }
    });
    first = last;
  }
}

}  // namespace

at::Tensor roi_align_forward_cpu(const at::Tensor& features, const at::Tensor& rois, double spatial_scale,
                                 int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio) {
  at::Tensor output = at::empty({rois.size(0), features.size(1), pooled_h, pooled_w}, features.options());
  if (output.numel() == 0) return output;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_align_forward_cpu", [&] {
    ForwardImpl<scalar_t>(features, rois, spatial_scale, pooled_h, pooled_w, sampling_ratio, output);
  });
  return output;
}

at::Tensor roi_align_backward_cpu(const at::Tensor& grad_output, const at::Tensor& rois, double spatial_scale,
                                  int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio,
                                  at::IntArrayRef feature_shape) {
  at::Tensor grad_features = at::zeros(feature_shape, grad_output.options());
  if (grad_output.numel() == 0) return grad_features;
  AT_DISPATCH_FLOATING_TYPES(grad_output.scalar_type(), "roi_align_backward_cpu", [&] {
    BackwardImpl<scalar_t>(grad_output, rois, spatial_scale, pooled_h, pooled_w, sampling_ratio, grad_features);
  });
  return grad_features;
}

}  // namespace kernels
}  // namespace dtn
