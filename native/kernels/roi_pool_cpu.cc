// RoIPoolF forward and backward on CPU: the max pooling of Fast R-CNN in the variant
// Detectron ships (modules/detectron/roi_pool_f_op.cu, which only has a CUDA kernel):
// coordinates rounded to the feature grid, +1 RoI sizes, floor/ceil bin edges clipped to
// the map, an empty bin pooled to 0 with argmax -1.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"

namespace dtn {
namespace kernels {

namespace {

// Rounded RoI coordinates can be anything a caller passes; clamping them far outside any
// feature map keeps the integer arithmetic below from overflowing without changing the
// clipped bins.
int64_t RoundCoord(double v) {
  constexpr double kLimit = 1099511627776.0;  // 2^40
  return static_cast<int64_t>(std::max(-kLimit, std::min(kLimit, v)));
}

// The clipped [start, end) edges of every bin along one axis of one RoI.
template <typename T>
void BinEdges(T roi_start_coord, T roi_end_coord, T scale, int64_t pooled, int64_t size, std::vector<int64_t>& start,
              std::vector<int64_t>& end) {
  // std::round on T: roundf for float, as in Caffe2 (halves away from zero).
  const int64_t roi_start = RoundCoord(std::round(roi_start_coord * scale));
  const int64_t roi_end = RoundCoord(std::round(roi_end_coord * scale));
  const int64_t roi_size = std::max<int64_t>(roi_end - roi_start + 1, 1);
  const T bin = static_cast<T>(roi_size) / static_cast<T>(pooled);
  start.resize(pooled);
  end.resize(pooled);
  for (int64_t p = 0; p < pooled; ++p) {
    int64_t lo = static_cast<int64_t>(std::floor(static_cast<T>(p) * bin));
    int64_t hi = static_cast<int64_t>(std::ceil(static_cast<T>(p + 1) * bin));
    start[p] = std::min(std::max<int64_t>(lo + roi_start, 0), size);
    end[p] = std::min(std::max<int64_t>(hi + roi_start, 0), size);
  }
}

// The clipped bins of every RoI, built once per call (a few integers per RoI).
struct PoolBins {
  int64_t pooled_h, pooled_w;
  std::vector<int64_t> batch;
  std::vector<int64_t> h_start, h_end, w_start, w_end;  // RoI r's bins at r * pooled + p

  template <typename T>
  void Build(const T* rois, int64_t num_rois, T scale, int64_t ph, int64_t pw, int64_t height, int64_t width) {
    pooled_h = ph;
    pooled_w = pw;
    batch.resize(num_rois);
    h_start.resize(num_rois * ph);
    h_end.resize(num_rois * ph);
    w_start.resize(num_rois * pw);
    w_end.resize(num_rois * pw);
    std::vector<int64_t> s, e;
    for (int64_t r = 0; r < num_rois; ++r) {
      const T* roi = rois + r * 5;
      batch[r] = static_cast<int64_t>(roi[0]);
      BinEdges<T>(roi[2], roi[4], scale, ph, height, s, e);
      std::copy(s.begin(), s.end(), h_start.begin() + r * ph);
      std::copy(e.begin(), e.end(), h_end.begin() + r * ph);
      BinEdges<T>(roi[1], roi[3], scale, pw, width, s, e);
      std::copy(s.begin(), s.end(), w_start.begin() + r * pw);
      std::copy(e.begin(), e.end(), w_end.begin() + r * pw);
    }
  }
};

// Max of one bin over a channel plane. Caffe2 starts from -FLT_MAX (0 for an empty bin)
// and keeps the first strict maximum in row-major scan order.
template <typename T>
void PoolBin(const T* data, int64_t width, int64_t hs, int64_t he, int64_t ws, int64_t we, T& out, int32_t& arg) {
  const bool empty = he <= hs || we <= ws;
  T best = empty ? T(0) : std::numeric_limits<T>::lowest();
  int32_t best_idx = -1;
  // Branch-free selects: which element wins is data-dependent and unpredictable.
  for (int64_t h = hs; h < he; ++h) {
    const T* row = data + h * width;
    for (int64_t w = ws; w < we; ++w) {
      const bool better = row[w] > best;
      best = better ? row[w] : best;
      best_idx = better ? static_cast<int32_t>(h * width + w) : best_idx;
    }
  }
  out = best;
  arg = best_idx;
}

template <typename T>
void ForwardImpl(const at::Tensor& features, const at::Tensor& rois, double spatial_scale, int64_t pooled_h,
                 int64_t pooled_w, at::Tensor& output, at::Tensor& argmax) {
  const int64_t channels = features.size(1), height = features.size(2), width = features.size(3);
  const int64_t num_rois = rois.size(0), bins = pooled_h * pooled_w, plane = height * width;
  const T* feat = features.data_ptr<T>();
  T* out = output.data_ptr<T>();
  int32_t* arg = argmax.data_ptr<int32_t>();
  PoolBins pb;
  pb.Build(rois.data_ptr<T>(), num_rois, static_cast<T>(spatial_scale), pooled_h, pooled_w, height, width);

  // Channel-major work items: a thread sweeps a channel plane over all RoIs while the
  // plane is in cache (see roi_align_cpu.cc).
  at::parallel_for(0, channels * num_rois, std::max<int64_t>(1, 2048 / bins), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c = item / num_rois, r = item % num_rois;
      const T* data = feat + (pb.batch[r] * channels + c) * plane;
      const int64_t o = (r * channels + c) * bins;
      for (int64_t ph = 0; ph < pooled_h; ++ph) {
        for (int64_t pw = 0; pw < pooled_w; ++pw) {
          PoolBin(data, width, pb.h_start[r * pooled_h + ph], pb.h_end[r * pooled_h + ph],
                  pb.w_start[r * pooled_w + pw], pb.w_end[r * pooled_w + pw], out[o + ph * pooled_w + pw],
                  arg[o + ph * pooled_w + pw]);
        }
      }
    }
  });
}

template <typename T>
void BackwardImpl(const at::Tensor& grad_output, const at::Tensor& argmax, const at::Tensor& rois,
                  at::Tensor& grad_features) {
  const int64_t channels = grad_features.size(1), plane = grad_features.size(2) * grad_features.size(3);
  const int64_t num_rois = rois.size(0), bins = grad_output.size(2) * grad_output.size(3);
  const T* gout = grad_output.data_ptr<T>();
  const int32_t* arg = argmax.data_ptr<int32_t>();
  const T* roi_data = rois.data_ptr<T>();
  T* gfeat = grad_features.data_ptr<T>();

  // Threads own disjoint channel ranges (RoI r, channel c only writes plane (batch, c)),
  // so there are no races and each element's sum runs RoI by RoI whatever the thread count.
  at::parallel_for(0, channels, 1, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      for (int64_t r = 0; r < num_rois; ++r) {
        T* dst = gfeat + (static_cast<int64_t>(roi_data[r * 5]) * channels + c) * plane;
        const int64_t offset = (r * channels + c) * bins;
        for (int64_t b = 0; b < bins; ++b) {
          const int32_t a = arg[offset + b];
          // The argmax comes from our forward, but a caller may hand back anything: an
          // offset outside the plane is ignored rather than written out of bounds.
          if (a >= 0 && a < plane) dst[a] += gout[offset + b];
        }
      }
    }
  });
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> roi_pool_forward_cpu(const at::Tensor& features, const at::Tensor& rois,
                                                        double spatial_scale, int64_t pooled_h, int64_t pooled_w) {
  std::vector<int64_t> shape{rois.size(0), features.size(1), pooled_h, pooled_w};
  at::Tensor output = at::empty(shape, features.options());
  at::Tensor argmax = at::empty(shape, features.options().dtype(at::kInt));
  if (output.numel() == 0) return {output, argmax};
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "roi_pool_forward_cpu", [&] {
    ForwardImpl<scalar_t>(features, rois, spatial_scale, pooled_h, pooled_w, output, argmax);
  });
  return {output, argmax};
}

at::Tensor roi_pool_backward_cpu(const at::Tensor& grad_output, const at::Tensor& argmax, const at::Tensor& rois,
                                 at::IntArrayRef feature_shape) {
  at::Tensor grad_features = at::zeros(feature_shape, grad_output.options());
  if (grad_output.numel() == 0) return grad_features;
  AT_DISPATCH_FLOATING_TYPES(grad_output.scalar_type(), "roi_pool_backward_cpu", [&] {
    BackwardImpl<scalar_t>(grad_output, argmax, rois, grad_features);
  });
  return grad_features;
}

}  // namespace kernels
}  // namespace dtn
