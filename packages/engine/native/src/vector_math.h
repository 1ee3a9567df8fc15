// The inner loops, written as plain fixed-shape loops that GCC/Clang -O3
// vectorise (no intrinsics, no -ffast-math). Every reduction has an explicit,
// fixed order (16 lanes, then a halving tree), so a result never depends on
// the vector width the compiler picked or on the thread that computed it.
//
// D is the head dimension when known at compile time (the dispatcher
// instantiates 32, 64 and 128), or 0 for "read it from `dRuntime`". T is the
// element type of the K or V row read (float, Bf16, F16: element_types.h),
// widened exactly to f32 where it is loaded; for float the loops are the f32
// loops they always were.
#pragma once

#include <cstdint>
#include <cstring>

#include "element_types.h"

namespace sigmaserve {

constexpr int kLanes = 16;

template <int D>
inline int headDimOf(int dRuntime) {
  return D > 0 ? D : dRuntime;
}

// Sums 16 lanes pairwise (l + 8, then + 4, + 2, + 1), spelled out so the
// compiler emits register shuffles rather than a loop through memory.
inline float sumLanes(const float* lanes) {
  float s8[8];
  for (int l = 0; l < 8; ++l) s8[l] = lanes[l] + lanes[l + 8];
  float s4[4];
  for (int l = 0; l < 4; ++l) s4[l] = s8[l] + s8[l + 4];
  const float s2a = s4[0] + s4[2];
  const float s2b = s4[1] + s4[3];
  return s2a + s2b;
}

// Sum of a[i]·b[i]: lane l accumulates i ≡ l (mod 16) in ascending i, then sumLanes.
template <int D, typename T>
inline float dot(const float* __restrict a, const T* __restrict b, int dRuntime) {
  const int d = headDimOf<D>(dRuntime);
  float lanes[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= d; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += a[i + l] * widen(b[i + l]);
  }
  if (D == 0 || D % kLanes != 0) {
    for (int l = 0; l < kLanes && i + l < d; ++l) lanes[l] += a[i + l] * widen(b[i + l]);
  }
  return sumLanes(lanes);
}

// acc[i] += w·v[i].
template <int D, typename T>
inline void axpy(float* __restrict acc, float w, const T* __restrict v, int dRuntime) {
  const int d = headDimOf<D>(dRuntime);
  for (int i = 0; i < d; ++i) acc[i] += w * widen(v[i]);
}

// acc[i] += partial[i], widening to double.
template <int D>
inline void addWidened(double* __restrict acc, const float* __restrict partial, int dRuntime) {
  const int d = headDimOf<D>(dRuntime);
  for (int i = 0; i < d; ++i) acc[i] += static_cast<double>(partial[i]);
}

// acc[i] += w·v[i] in double.
template <int D, typename T>
inline void axpyDouble(double* __restrict acc, float w, const T* __restrict v, int dRuntime) {
  const int d = headDimOf<D>(dRuntime);
  const double wd = w;
  for (int i = 0; i < d; ++i) acc[i] += wd * static_cast<double>(widen(v[i]));
}

// Largest of x[0 … n-1] (n ≥ 1). Max is exact, so the lane order does not matter for the value.
// N > 0: n is N, known at compile time (the kernel passes 16 for a whole block), so the loops unroll.
template <int N = 0>
inline float maxOf(const float* __restrict x, int nRuntime) {
  const int n = N > 0 ? N : nRuntime;
  float lanes[kLanes];
  for (int l = 0; l < kLanes; ++l) lanes[l] = x[0];
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  }
  for (int l = 0; l < kLanes && i + l < n; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  // Halving, as in sumLanes, so the compiler uses register shuffles, not a chain of 15 scalar maxes.
  float m8[8];
  for (int l = 0; l < 8; ++l) m8[l] = lanes[l + 8] > lanes[l] ? lanes[l + 8] : lanes[l];
  float m4[4];
  for (int l = 0; l < 4; ++l) m4[l] = m8[l + 4] > m8[l] ? m8[l + 4] : m8[l];
  const float m2a = m4[2] > m4[0] ? m4[2] : m4[0];
  const float m2b = m4[3] > m4[1] ? m4[3] : m4[1];
  return m2b > m2a ? m2b : m2a;
}

// exp(x) for x ≤ 0 (a score minus its row maximum), relative error < 3e-7:
// Cephes' expf range reduction and polynomial, branch-free so the loop in
// expInPlace vectorises (libm's expf would be a scalar call per score).
// Below -87 it returns exp(-87) ≈ 1.6e-38 rather than a smaller number or 0:
// a weight that cannot change a sum whose largest term is 1.
inline float expNonPositive(float x) {
  const float xc = x > -87.0f ? x : -87.0f;
  // n = round(x / ln 2): truncating (t - 0.5) rounds a non-positive t to nearest.
  const int32_t n = static_cast<int32_t>(xc * 1.44269504088896341f - 0.5f);
  const float nf = static_cast<float>(n);
  float r = xc - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t bits = (n + 127) << 23;
  float twoToN;
  std::memcpy(&twoToN, &bits, sizeof twoToN);
  return p * twoToN;
}

// x[i] = exp(x[i] - m) for i < n; returns Σ x[i] accumulated in double, 8 lanes then pairwise.
// N as for maxOf: the same operations, with n known at compile time.
template <int N = 0>
inline double expInPlace(float* __restrict x, int nRuntime, float m) {
  const int n = N > 0 ? N : nRuntime;
  for (int i = 0; i < n; ++i) x[i] = expNonPositive(x[i] - m);
  constexpr int kSumLanes = 8;
  double lanes[kSumLanes] = {};
  int i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (int l = 0; l < kSumLanes; ++l) lanes[l] += static_cast<double>(x[i + l]);
  }
  for (int l = 0; l < kSumLanes && i + l < n; ++l) lanes[l] += static_cast<double>(x[i + l]);
  for (int width = kSumLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

// Asks for the `bytes` at p to be brought into L2 ahead of use. NOTE: into
// L2 (prefetcht2), not L1: an L1 prefetch holds one of the core's ~12 line
// fill buffers until the line arrives, which caps a thread at ~12 lines in
// flight (measured: 10 GB/s vs 12.4 GB/s for 2 threads on scattered 4 KiB blocks).
inline void prefetchBytes(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 1);
}

}  // namespace sigmaserve
