// NMS suppression mask and bbox overlaps on CUDA. Both use individually rounded IEEE
// operations in the order and precision of the C that Cython generates for cython_nms /
// cython_bbox, so the mask (and hence the kept set) and the overlaps are identical to the
// CPU's: see box_ops_cpu.cc.
#include "cuda_common.cuh"
#include "kernels_cuda.h"

namespace dtn {
namespace kernels {
namespace {

using cuda::CyMax;
using cuda::CyMin;
using cuda::RnAdd;
using cuda::RnDiv;
using cuda::RnMul;
using cuda::RnSub;

constexpr int kBlockBoxes = 64;  // one mask word per (row box, block of 64 column boxes)

// (x2 - x1 + 1) * (y2 - y1 + 1) in float32, step by step: cython_nms gets its areas from
// numpy float32 arrays.
template <typename T>
__device__ __forceinline__ T Area(T x1, T y1, T x2, T y2) {
  return RnMul(RnAdd(RnSub(x2, x1), T(1)), RnAdd(RnSub(y2, y1), T(1)));
}

// cython_nms.nms's IoU for boxes a and b (x1, y1, x2, y2) with precomputed areas.
__device__ __forceinline__ float NmsIoU(const float* a, float area_a, const float* b, float area_b) {
  const float xx1 = CyMax(a[0], b[0]);
  const float yy1 = CyMax(a[1], b[1]);
  const float xx2 = CyMin(a[2], b[2]);
  const float yy2 = CyMin(a[3], b[3]);
  const float w = CyMax(0.0f, RnAdd(RnSub(xx2, xx1), 1.0f));
  const float h = CyMax(0.0f, RnAdd(RnSub(yy2, yy1), 1.0f));
  const float inter = RnMul(w, h);
  return RnDiv(inter, RnSub(RnAdd(area_a, area_b), inter));
}

// Block (bx, by) compares row boxes by*64.. with column boxes bx*64..; thread t owns row
// box by*64+t and writes one 64-bit word. Blocks below the diagonal write zeros so that
// every word of the mask is defined.
__global__ void NmsMaskKernel(const float* boxes, int64_t n, float thresh, int64_t words, uint64_t* mask) {
  const int64_t row_block = blockIdx.y, col_block = blockIdx.x;
  const int64_t row = row_block * kBlockBoxes + threadIdx.x;
  const int64_t col_begin = col_block * kBlockBoxes;
  const int64_t col_count = min(static_cast<int64_t>(kBlockBoxes), n - col_begin);

  __shared__ float cols[kBlockBoxes][5];  // x1, y1, x2, y2, area
  if (threadIdx.x < col_count) {
    const float* b = boxes + (col_begin + threadIdx.x) * 5;
    cols[threadIdx.x][0] = b[0];
    cols[threadIdx.x][1] = b[1];
    cols[threadIdx.x][2] = b[2];
    cols[threadIdx.x][3] = b[3];
    cols[threadIdx.x][4] = Area(b[0], b[1], b[2], b[3]);
  }
  __syncthreads();
  if (row >= n) return;

  uint64_t bits = 0;
  if (col_block >= row_block) {
    const float* a = boxes + row * 5;
    const float area_a = Area(a[0], a[1], a[2], a[3]);
    const int start = col_block == row_block ? threadIdx.x + 1 : 0;
    for (int k = start; k < col_count; ++k) {
      if (NmsIoU(a, area_a, cols[k], cols[k][4]) >= thresh) bits |= 1ULL << k;
    }
  }
  mask[row * words + col_block] = bits;
}

// Cython's "(hi - lo + 1)" on float32 variables: a float32 difference plus the double 1.0
// (see box_ops_cpu.cc: cython_bbox evaluates its areas and union in double).
template <typename T>
__device__ __forceinline__ double Side(T hi, T lo) {
  return RnAdd(static_cast<double>(RnSub(hi, lo)), 1.0);
}

template <typename T>
__global__ void OverlapsKernel(const T* boxes, const T* query, int64_t n, int64_t k, T* overlaps) {
  DTN_CUDA_LOOP(index, n * k) {
    const T* b = boxes + (index / k) * 4;
    const T* q = query + (index % k) * 4;
    T value = 0;
    const T iw = static_cast<T>(Side(CyMin(b[2], q[2]), CyMax(b[0], q[0])));
    if (iw > 0) {
      const T ih = static_cast<T>(Side(CyMin(b[3], q[3]), CyMax(b[1], q[1])));
      if (ih > 0) {
        const T inter = RnMul(iw, ih);
        // box_area is stored as T; the union is a double expression stored as T.
        const T query_area = static_cast<T>(RnMul(Side(q[2], q[0]), Side(q[3], q[1])));
        const double box_area = RnMul(Side(b[2], b[0]), Side(b[3], b[1]));
        const T ua = static_cast<T>(RnSub(RnAdd(box_area, static_cast<double>(query_area)), static_cast<double>(inter)));
        value = RnDiv(inter, ua);
      }
    }
    overlaps[index] = value;
  }
}

template <typename T>
cudaError_t LaunchOverlaps(const T* boxes, const T* query, int64_t n, int64_t k, T* overlaps, cudaStream_t stream) {
  if (n * k == 0) return cudaSuccess;
  OverlapsKernel<T><<<cuda::BlocksFor(n * k), cuda::kThreads, 0, stream>>>(boxes, query, n, k, overlaps);
  return cudaGetLastError();
}

}  // namespace

cudaError_t nms_mask_cuda(const float* sorted_boxes, int64_t n, float thresh, uint64_t* mask, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int64_t words = nms_mask_words(n);
  if (words > 65535) return cudaErrorInvalidValue;  // > 4M boxes: beyond gridDim.y
  dim3 blocks(static_cast<unsigned int>(words), static_cast<unsigned int>(words));
  NmsMaskKernel<<<blocks, kBlockBoxes, 0, stream>>>(sorted_boxes, n, thresh, words, mask);
  return cudaGetLastError();
}

cudaError_t bbox_overlaps_cuda_f32(const float* boxes, const float* query, int64_t n, int64_t k, float* overlaps,
                                   cudaStream_t stream) {
  return LaunchOverlaps(boxes, query, n, k, overlaps, stream);
}

cudaError_t bbox_overlaps_cuda_f64(const double* boxes, const double* query, int64_t n, int64_t k,
                                   double* overlaps, cudaStream_t stream) {
  return LaunchOverlaps(boxes, query, n, k, overlaps, stream);
}

}  // namespace kernels
}  // namespace dtn
