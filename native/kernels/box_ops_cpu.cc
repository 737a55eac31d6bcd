// Detectron's box utilities on CPU: cython_nms.nms, cython_nms.soft_nms and
// cython_bbox.bbox_overlaps. Which boxes survive depends on the last bit of an IoU
// compared with a threshold, so every expression below repeats the C that Cython
// generates, operation for operation: float32 variables, but the integer literal of
// "x2 - x1 + 1" becomes the double 1.0, so "(x2 - x1 + 1) * (y2 - y1 + 1)" and the union
// are evaluated in double and rounded to float32 only when stored. (The golden soft-NMS
// scores and overlaps match this bit for bit, and pure float32 arithmetic does not.)
// The build uses no -ffast-math and x86-64 has no implicit FMA contraction, so C++
// arithmetic is exactly the IEEE arithmetic of that C.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace dtn {
namespace kernels {

namespace {

// cython_nms's own inline max/min (note the >= / <= choice, which matters only for NaN).
inline float CyMax(float a, float b) { return a >= b ? a : b; }
inline float CyMin(float a, float b) { return a <= b ? a : b; }

// Cython's "(hi - lo + 1)" on float32 variables: a float32 difference plus the double 1.0.
template <typename T>
inline double Side(T hi, T lo) {
  return static_cast<double>(hi - lo) + 1.0;
}

// The NMS inner loop: flags boxes [begin, end) whose IoU with box i reaches thresh, in
// cython_nms's float32 operations. Computing the IoU of an already suppressed box too is
// harmless (suppression only ever sets the flag) and keeps the loop branch-free, so it
// vectorises; the AVX2 clone doubles the lanes where the CPU has it (AVX2 without FMA:
// no contraction, so the results are the same bits as the SSE version's).
__attribute__((target_clones("avx2", "default"))) void SuppressRange(
    float ix1, float iy1, float ix2, float iy2, float iarea, const float* __restrict X1, const float* __restrict Y1,
    const float* __restrict X2, const float* __restrict Y2, const float* __restrict A, uint8_t* __restrict D,
    int64_t begin, int64_t end, float thresh) {
  for (int64_t j = begin; j < end; ++j) {
    const float xx1 = CyMax(ix1, X1[j]);
    const float yy1 = CyMax(iy1, Y1[j]);
    const float xx2 = CyMin(ix2, X2[j]);
    const float yy2 = CyMin(iy2, Y2[j]);
    const float w = CyMax(0.0f, xx2 - xx1 + 1);
    const float h = CyMax(0.0f, yy2 - yy1 + 1);
    const float inter = w * h;
    const float ovr = inter / (iarea + A[j] - inter);
    D[j] |= static_cast<uint8_t>(ovr >= thresh);
  }
}

// The candidate boxes of a greedy NMS in visiting order, as separate coordinate arrays
// so that the suppression loop vectorises.
struct SortedBoxes {
  std::vector<float> x1, y1, x2, y2, area;
  std::vector<int64_t> index;  // position in the caller's dets
  std::vector<uint8_t> dead;

  SortedBoxes(const float* dets, const int64_t* order, int64_t n)
      : x1(n), y1(n), x2(n), y2(n), area(n), index(n), dead(n, 0) {
    for (int64_t k = 0; k < n; ++k) {
      const float* d = dets + order[k] * 5;
      x1[k] = d[0];
      y1[k] = d[1];
      x2[k] = d[2];
      y2[k] = d[3];
      // numpy's float32 (x2 - x1 + 1) * (y2 - y1 + 1)
      area[k] = (d[2] - d[0] + 1) * (d[3] - d[1] + 1);
      index[k] = order[k];
    }
  }

  // Marks every candidate in (p, n) whose IoU with candidate p reaches thresh.
  void SuppressAfter(int64_t p, int64_t n, float thresh) {
    SuppressRange(x1[p], y1[p], x2[p], y2[p], area[p], x1.data(), y1.data(), x2.data(), y2.data(), area.data(),
                  dead.data(), p + 1, n, thresh);
  }

  // Drops suppressed candidates from [from, n), keeping the order; returns the new end.
  // Called now and then so that later sweeps only walk boxes that are still alive.
  int64_t Compact(int64_t from, int64_t n) {
    int64_t out = from;
    for (int64_t k = from; k < n; ++k) {
      if (dead[k]) continue;
      x1[out] = x1[k];
      y1[out] = y1[k];
      x2[out] = x2[k];
      y2[out] = y2[k];
      area[out] = area[k];
      index[out] = index[k];
      dead[out] = 0;
      ++out;
    }
    return out;
  }
};

// The box fields soft-NMS moves around together.
struct SoftBox {
  float x1, y1, x2, y2, score;
  int64_t index;
};

// soft_nms's rescoring weight for overlap `ov` (its float32 arithmetic; the gaussian
// goes through np.exp on a Python float, i.e. exp in double, then back to float32).
float SoftWeight(float ov, float sigma, float nt, int64_t method) {
  if (method == 1) return ov > nt ? 1 - ov : 1.0f;
  if (method == 2) {
    const float e = -(ov * ov) / sigma;
    return static_cast<float>(std::exp(static_cast<double>(e)));
  }
  return ov > nt ? 0.0f : 1.0f;
}

template <typename T>
void OverlapsImpl(const at::Tensor& boxes, const at::Tensor& query, at::Tensor& out) {
  const int64_t n = boxes.size(0), k = query.size(0);
  const T* b = boxes.data_ptr<T>();
  const T* q = query.data_ptr<T>();
  T* o = out.data_ptr<T>();
  // box_area is a float32 variable in cython_bbox: the double product is rounded once.
  std::vector<T> query_area(k);
  for (int64_t j = 0; j < k; ++j) {
    query_area[j] = static_cast<T>(Side(q[j * 4 + 2], q[j * 4 + 0]) * Side(q[j * 4 + 3], q[j * 4 + 1]));
  }
  at::parallel_for(0, n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, k)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* bi = b + i * 4;
      for (int64_t j = 0; j < k; ++j) {
        const T* qj = q + j * 4;
        T value = 0;
        const T iw = static_cast<T>(Side(std::min(bi[2], qj[2]), std::max(bi[0], qj[0])));
        if (iw > 0) {
          const T ih = static_cast<T>(Side(std::min(bi[3], qj[3]), std::max(bi[1], qj[1])));
          if (ih > 0) {
            // ua = float((x2 - x1 + 1) * (y2 - y1 + 1) + box_area - iw * ih): double sum,
            // float32 iw * ih, rounded to float32 when stored in ua.
            const T inter = iw * ih;
            const T ua = static_cast<T>(Side(bi[2], bi[0]) * Side(bi[3], bi[1]) + static_cast<double>(query_area[j]) -
                                        static_cast<double>(inter));
            value = inter / ua;
          }
        }
        o[i * k + j] = value;
      }
    }
  });
}

}  // namespace

at::Tensor nms_visit_order(const at::Tensor& scores) {
  // A stable ascending sort reversed: ties end up with the higher index first.
  at::Tensor ascending = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  return ascending.flip({0}).contiguous();
}

at::Tensor nms_cpu(const at::Tensor& dets, double thresh) {
  const int64_t n = dets.size(0);
  if (n == 0) return at::empty({0}, dets.options().dtype(at::kLong));
  at::Tensor order = nms_visit_order(dets.select(1, 4));
  SortedBoxes boxes(dets.data_ptr<float>(), order.data_ptr<int64_t>(), n);
  const float th = static_cast<float>(thresh);  // cython_nms takes thresh as float32

  std::vector<int64_t> kept;
  int64_t live_end = n;
  int kept_since_compact = 0;
  for (int64_t p = 0; p < live_end; ++p) {
    if (boxes.dead[p]) continue;
    kept.push_back(boxes.index[p]);
    boxes.SuppressAfter(p, live_end, th);
    // Compacting costs one pass over the tail; doing it every 16 kept boxes bounds that
    // overhead while letting heavy suppression shrink the later passes.
    if (++kept_since_compact == 16) {
      live_end = boxes.Compact(p + 1, live_end);
      kept_since_compact = 0;
    }
  }
  // cython_nms returns np.where(suppressed == 0)[0]: ascending indices.
  std::sort(kept.begin(), kept.end());
  at::Tensor keep = at::empty({static_cast<int64_t>(kept.size())}, dets.options().dtype(at::kLong));
  std::copy(kept.begin(), kept.end(), keep.data_ptr<int64_t>());
  return keep;
}

std::tuple<at::Tensor, at::Tensor> soft_nms_cpu(const at::Tensor& dets, double sigma, double overlap_thresh,
                                                double score_thresh, int64_t method) {
  int64_t n = dets.size(0);
  const float* d = dets.data_ptr<float>();
  std::vector<SoftBox> boxes(n);
  for (int64_t k = 0; k < n; ++k) boxes[k] = {d[k * 5], d[k * 5 + 1], d[k * 5 + 2], d[k * 5 + 3], d[k * 5 + 4], k};
  // soft_nms declares these parameters as C floats.
  const float sig = static_cast<float>(sigma), nt = static_cast<float>(overlap_thresh);
  const float threshold = static_cast<float>(score_thresh);

  // n shrinks as boxes fall below the threshold; Cython's loop runs to the original N but
  // its iterations past the shrunken N change nothing that is returned.
  for (int64_t i = 0; i < n; ++i) {
    // Bring the highest remaining score to position i (first one wins a tie).
    int64_t maxpos = i;
    float maxscore = boxes[i].score;
    for (int64_t pos = i + 1; pos < n; ++pos) {
      if (maxscore < boxes[pos].score) {
        maxscore = boxes[pos].score;
        maxpos = pos;
      }
    }
    std::swap(boxes[i], boxes[maxpos]);

    const SoftBox t = boxes[i];
    // Inside ua's expression the max box's area stays in double (never stored).
    const double t_area = Side(t.x2, t.x1) * Side(t.y2, t.y1);
    for (int64_t pos = i + 1; pos < n; ++pos) {
      SoftBox& b = boxes[pos];
      const float area = static_cast<float>(Side(b.x2, b.x1) * Side(b.y2, b.y1));  // a float32 variable
      const float iw = static_cast<float>(Side(CyMin(t.x2, b.x2), CyMax(t.x1, b.x1)));
      if (!(iw > 0)) continue;
      const float ih = static_cast<float>(Side(CyMin(t.y2, b.y2), CyMax(t.y1, b.y1)));
      if (!(ih > 0)) continue;
      const float inter = iw * ih;  // float32 * float32
      const float ua = static_cast<float>(t_area + static_cast<double>(area) - static_cast<double>(inter));
      const float ov = inter / ua;
      // float32 * float32 rounded once: what numpy's float64 product stored to float32 gives.
      b.score = SoftWeight(ov, sig, nt, method) * b.score;
      if (b.score < threshold) {
        // Discard by moving the last box here and looking at this position again.
        boxes[pos] = boxes[n - 1];
        --n;
        --pos;
      }
    }
  }

  at::Tensor out = at::empty({n, 5}, dets.options());
  at::Tensor keep = at::empty({n}, dets.options().dtype(at::kLong));
  float* o = out.data_ptr<float>();
  int64_t* kp = keep.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    const SoftBox& b = boxes[k];
    o[k * 5] = b.x1;
    o[k * 5 + 1] = b.y1;
    o[k * 5 + 2] = b.x2;
    o[k * 5 + 3] = b.y2;
    o[k * 5 + 4] = b.score;
    kp[k] = b.index;
  }
  return {out, keep};
}

at::Tensor bbox_overlaps_cpu(const at::Tensor& boxes, const at::Tensor& query) {
  at::Tensor out = at::empty({boxes.size(0), query.size(0)}, boxes.options());
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "bbox_overlaps_cpu", [&] { OverlapsImpl<scalar_t>(boxes, query, out); });
  return out;
}

}  // namespace kernels
}  // namespace dtn
