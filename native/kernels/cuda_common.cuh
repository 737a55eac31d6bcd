// Helpers shared by the .cu files: grid-stride launch sizes, exactly rounded arithmetic
// and atomics for both float and double. No ATen or torch headers here.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace dtn {
namespace kernels {
namespace cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill any current GPU, few enough
// to stay far below the grid-size limit.
inline unsigned int BlocksFor(int64_t n) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > 65535) blocks = 65535;
  return static_cast<unsigned int>(blocks < 1 ? 1 : blocks);
}

// Grid-stride loop over [0, n) with 64-bit indices.
#define DTN_CUDA_LOOP(i, n)                                                                  \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Individually rounded IEEE operations. nvcc contracts a*b+c into an FMA by default, which
// changes last bits; NMS must reproduce the CPU's (and Cython's) float32 IoU exactly.
__device__ __forceinline__ float RnAdd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float RnSub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float RnMul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float RnDiv(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double RnAdd(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double RnSub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ double RnMul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double RnDiv(double a, double b) { return __ddiv_rn(a, b); }

// cython's inline max/min (>= and <=), which decide what a NaN coordinate does.
template <typename T>
__device__ __forceinline__ T CyMax(T a, T b) { return a >= b ? a : b; }
template <typename T>
__device__ __forceinline__ T CyMin(T a, T b) { return a <= b ? a : b; }

}  // namespace cuda
}  // namespace kernels
}  // namespace dtn
