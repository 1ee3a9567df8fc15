// The two hot loops in AVX-512 intrinsics, with portable stand-ins
// elsewhere (the kernel then uses the loops of vector_math.h instead).
//
// scoreBlock16: scores of one Q head against 16 consecutive K rows at once.
// dot<D>() reduces each q·k to a scalar with a shuffle tree of its own, which
// costs ~10 shuffles and adds per score: for Sigma's 8 Q heads per K head
// that made the K side compute-bound. Here the 16 partial vectors (lane l
// holds Σ q[i]·k[i] over i ≡ l mod 16) are reduced together, 16→8→4→2→1
// lanes, in ~3 operations per score.
//
// accumulateRows: a block's weighted V rows summed in registers (GCC kept
// the portable loop's partial sums in memory, one store per FMA).
//
// Both perform the same additions in the same order as the portable loops
// (sumLanes() and axpy()/addWidened()), so the bits are the same on either
// path (given the same FMA contraction), which the tests check.
#pragma once

#if defined(__AVX512F__)
// GCC 12 flags _mm512_undefined_ps() inside its own shuffle intrinsics as
// "(maybe) used uninitialized" once they are inlined; the value is never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#include "vector_math.h"

namespace sigmaserve {

#if defined(__AVX512F__)
constexpr bool kHasAvx512Kernels = true;

// s[t] = scale · (q · k[t·D …]) for t = 0 … 15; D a multiple of 16.
template <int D>
inline void scoreBlock16(const float* __restrict q, const float* __restrict k, float scale, float* __restrict s) {
  static_assert(D > 0 && D % 16 == 0, "scoreBlock16 needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  __m512 qv[kChunks];
  for (int c = 0; c < kChunks; ++c) qv[c] = _mm512_loadu_ps(q + 16 * c);
  __m512 a[16];
  for (int t = 0; t < 16; ++t) {
    const float* kt = k + t * D;
    __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kt));
    for (int c = 1; c < kChunks; ++c) acc = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kt + 16 * c), acc);
    a[t] = acc;
  }
  // 16 → 8 lanes: b[m] = [s8 of row 2m | s8 of row 2m+1], s8[l] = lanes[l] + lanes[l+8].
  __m512 b[8];
  for (int m = 0; m < 8; ++m) {
    b[m] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * m], a[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a[2 * m], a[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // 8 → 4: 128-bit chunk j of c[m] = s4 of row 4m+j, s4[l] = s8[l] + s8[l+4].
  __m512 c4[4];
  for (int m = 0; m < 4; ++m) {
    c4[m] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * m], b[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_f32x4(b[2 * m], b[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // 4 → 2: chunk j of d[n] = [s2a, s2b of row 8n+j, s2a, s2b of row 8n+4+j], s2a = s4[0]+s4[2], s2b = s4[1]+s4[3].
  __m512 d2[2];
  for (int n = 0; n < 2; ++n) {
    d2[n] = _mm512_add_ps(_mm512_shuffle_ps(c4[2 * n], c4[2 * n + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_ps(c4[2 * n], c4[2 * n + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // 2 → 1: lane 4j+i holds s2a + s2b of row 4i+j.
  const __m512 e = _mm512_add_ps(_mm512_shuffle_ps(d2[0], d2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(d2[0], d2[1], _MM_SHUFFLE(3, 1, 3, 1)));
  // Row r = 4i+j sits in lane 4j+i = 4(r mod 4) + r/4.
  const __m512i rowOrder = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_storeu_ps(s, _mm512_mul_ps(_mm512_permutexvar_ps(rowOrder, e), _mm512_set1_ps(scale)));
}
// acc[i] += Σ_{t < rows} w[t]·v[t·D + i] for i < D: the rows summed in f32
// registers (t ascending, one FMA per row), then widened into the f64 acc.
// The same operations as the portable loop in paged_attention.cc.
template <int D>
inline void accumulateRows(const float* __restrict w, const float* __restrict v, int rows, double* __restrict acc) {
  static_assert(D > 0 && D % 16 == 0, "accumulateRows needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  __m512 partial[kChunks];
  for (int c = 0; c < kChunks; ++c) partial[c] = _mm512_setzero_ps();
  for (int t = 0; t < rows; ++t) {
    const __m512 wt = _mm512_set1_ps(w[t]);
    const float* vt = v + t * D;
    for (int c = 0; c < kChunks; ++c) partial[c] = _mm512_fmadd_ps(wt, _mm512_loadu_ps(vt + 16 * c), partial[c]);
  }
  for (int c = 0; c < kChunks; ++c) {
    double* a = acc + 16 * c;
    _mm512_storeu_pd(a, _mm512_add_pd(_mm512_loadu_pd(a), _mm512_cvtps_pd(_mm512_castps512_ps256(partial[c]))));
    _mm512_storeu_pd(a + 8, _mm512_add_pd(_mm512_loadu_pd(a + 8), _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(partial[c]), 1)))));
  }
}
#else
constexpr bool kHasAvx512Kernels = false;

template <int D>
inline void accumulateRows(const float* __restrict w, const float* __restrict v, int rows, double* __restrict acc) {
  float partial[D] = {};
  for (int t = 0; t < rows; ++t) axpy<D>(partial, w[t], v + t * D, D);
  addWidened<D>(acc, partial, D);
}

template <int D>
inline void scoreBlock16(const float* __restrict q, const float* __restrict k, float scale, float* __restrict s) {
  for (int t = 0; t < 16; ++t) s[t] = dot<D>(q, k + t * D, D) * scale;
}
#endif

}  // namespace sigmaserve
