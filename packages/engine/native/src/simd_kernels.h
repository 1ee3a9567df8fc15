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
//
// K and V rows may be f32, bf16 or f16 (element_types.h): load16() widens 16
// elements into one register (bf16: zero-extend and shift left 16; f16:
// vcvtph2ps), exactly, so the arithmetic after the load is the f32 one.
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

// 16 consecutive elements as f32.
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const Bf16* p) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
inline __m512 load16(const F16* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

// acc[16c + i] += partial[c][i], widened to f64 (addWidened's operations).
template <int kChunks>
inline void addPartials(const __m512* partial, double* __restrict acc) {
  for (int c = 0; c < kChunks; ++c) {
    double* a = acc + 16 * c;
    _mm512_storeu_pd(a, _mm512_add_pd(_mm512_loadu_pd(a), _mm512_cvtps_pd(_mm512_castps512_ps256(partial[c]))));
    _mm512_storeu_pd(a + 8, _mm512_add_pd(_mm512_loadu_pd(a + 8), _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(partial[c]), 1)))));
  }
}

inline void finishScores16(const __m512* c4, float scale, float* __restrict s);

// s[t] = scale · (q · k[t·D …]) for t = 0 … 15; D a multiple of 16.

template <int D, typename T>
inline void scoreBlock16(const float* __restrict q, const T* __restrict k, float scale, float* __restrict s) {
  static_assert(D > 0 && D % 16 == 0, "scoreBlock16 needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  __m512 qv[kChunks];
  for (int c = 0; c < kChunks; ++c) qv[c] = _mm512_loadu_ps(q + 16 * c);
  __m512 a[16];
  for (int t = 0; t < 16; ++t) {
    const T* kt = k + t * D;
    __m512 acc = _mm512_mul_ps(qv[0], load16(kt));
    for (int c = 1; c < kChunks; ++c) acc = _mm512_fmadd_ps(qv[c], load16(kt + 16 * c), acc);
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
  finishScores16(c4, scale, s);
}

// From the 4 → 2 step on (shared by scoreBlock16 and scoreBlock16Pair).
inline void finishScores16(const __m512* c4, float scale, float* __restrict s) {
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
// scoreBlock16 for two Q heads of one K head: each K row chunk is loaded
// (and widened) once and used by both heads. Rows are taken 4 at a time and
// reduced to the 16 → 4 lane stage at once (4 accumulators per head live, not
// 16), which keeps the two heads within the 32 vector registers; every
// score's operations are scoreBlock16's, in the same order.
template <int D, typename T>
inline void scoreBlock16Pair(const float* __restrict q0, const float* __restrict q1, const T* __restrict k, float scale, float* __restrict s0, float* __restrict s1) {
  static_assert(D > 0 && D % 16 == 0, "scoreBlock16Pair needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  __m512 qa[kChunks];
  __m512 qb[kChunks];
  for (int c = 0; c < kChunks; ++c) {
    qa[c] = _mm512_loadu_ps(q0 + 16 * c);
    qb[c] = _mm512_loadu_ps(q1 + 16 * c);
  }
  __m512 ca[4];
  __m512 cb[4];
  for (int g = 0; g < 4; ++g) {
    __m512 aa[4];
    __m512 ab[4];
    for (int r = 0; r < 4; ++r) {
      const T* kt = k + (4 * g + r) * D;
      __m512 kv = load16(kt);
      aa[r] = _mm512_mul_ps(qa[0], kv);
      ab[r] = _mm512_mul_ps(qb[0], kv);
      for (int c = 1; c < kChunks; ++c) {
        kv = load16(kt + 16 * c);
        aa[r] = _mm512_fmadd_ps(qa[c], kv, aa[r]);
        ab[r] = _mm512_fmadd_ps(qb[c], kv, ab[r]);
      }
    }
    // b[2g], b[2g+1] and c4[g] of scoreBlock16, for each head.
    const auto reduce4 = [](const __m512* a) {
      const __m512 b0 = _mm512_add_ps(_mm512_shuffle_f32x4(a[0], a[1], _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a[0], a[1], _MM_SHUFFLE(3, 2, 3, 2)));
      const __m512 b1 = _mm512_add_ps(_mm512_shuffle_f32x4(a[2], a[3], _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a[2], a[3], _MM_SHUFFLE(3, 2, 3, 2)));
      return _mm512_add_ps(_mm512_shuffle_f32x4(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
    };
    ca[g] = reduce4(aa);
    cb[g] = reduce4(ab);
  }
  finishScores16(ca, scale, s0);
  finishScores16(cb, scale, s1);
}

// scoreBlock16 for four Q heads of one K head (DiffQKV's 8 Q heads per K
// head are two of these): each K row chunk is loaded and widened once for
// four heads, whose Q chunks are read from L1 as FMA operands. The same
// operations per score as scoreBlock16Pair.
template <int D, typename T>
inline void scoreBlock16Quad(const float* const* q, const T* __restrict k, float scale, float* const* s) {
  static_assert(D > 0 && D % 16 == 0, "scoreBlock16Quad needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  constexpr int kHeads = 4;
  alignas(64) __m512 c4[kHeads][4];
  for (int g = 0; g < 4; ++g) {
    __m512 a[kHeads][4];
    for (int r = 0; r < 4; ++r) {
      const T* kt = k + (4 * g + r) * D;
      __m512 kv = load16(kt);
      for (int h = 0; h < kHeads; ++h) a[h][r] = _mm512_mul_ps(_mm512_loadu_ps(q[h]), kv);
      for (int c = 1; c < kChunks; ++c) {
        kv = load16(kt + 16 * c);
        for (int h = 0; h < kHeads; ++h) a[h][r] = _mm512_fmadd_ps(_mm512_loadu_ps(q[h] + 16 * c), kv, a[h][r]);
      }
    }
    for (int h = 0; h < kHeads; ++h) {
      const __m512 b0 = _mm512_add_ps(_mm512_shuffle_f32x4(a[h][0], a[h][1], _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a[h][0], a[h][1], _MM_SHUFFLE(3, 2, 3, 2)));
      const __m512 b1 = _mm512_add_ps(_mm512_shuffle_f32x4(a[h][2], a[h][3], _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a[h][2], a[h][3], _MM_SHUFFLE(3, 2, 3, 2)));
      c4[h][g] = _mm512_add_ps(_mm512_shuffle_f32x4(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
    }
  }
  for (int h = 0; h < kHeads; ++h) finishScores16(c4[h], scale, s[h]);
}

// accumulateRows for two Q heads of one V head (weights w0 and w1): each V
// row chunk is loaded (and widened) once for both, and the two heads' 2·D/16
// partial sums are independent chains, so the FMAs overlap instead of waiting
// on one chain per chunk. Each head's operations are accumulateRows'.
template <int D, typename T>
inline void accumulateRowsPair(const float* __restrict w0, const float* __restrict w1, const T* __restrict v, int rows, double* __restrict acc0, double* __restrict acc1) {
  static_assert(D > 0 && D % 16 == 0, "accumulateRowsPair needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  __m512 p0[kChunks];
  __m512 p1[kChunks];
  for (int c = 0; c < kChunks; ++c) {
    p0[c] = _mm512_setzero_ps();
    p1[c] = _mm512_setzero_ps();
  }
  for (int t = 0; t < rows; ++t) {
    const __m512 w0t = _mm512_set1_ps(w0[t]);
    const __m512 w1t = _mm512_set1_ps(w1[t]);
    const T* vt = v + t * D;
    for (int c = 0; c < kChunks; ++c) {
      const __m512 vv = load16(vt + 16 * c);
      p0[c] = _mm512_fmadd_ps(w0t, vv, p0[c]);
      p1[c] = _mm512_fmadd_ps(w1t, vv, p1[c]);
    }
  }
  addPartials<kChunks>(p0, acc0);
  addPartials<kChunks>(p1, acc1);
}

// acc[i] += Σ_{t < rows} w[t]·v[t·D + i] for i < D: the rows summed in f32
// registers (t ascending, one FMA per row), then widened into the f64 acc.
// The same operations as the portable loop in paged_attention.cc.
template <int D, typename T>
inline void accumulateRows(const float* __restrict w, const T* __restrict v, int rows, double* __restrict acc) {
  static_assert(D > 0 && D % 16 == 0, "accumulateRows needs a head dimension that is a multiple of 16");
  constexpr int kChunks = D / 16;
  __m512 partial[kChunks];
  for (int c = 0; c < kChunks; ++c) partial[c] = _mm512_setzero_ps();
  for (int t = 0; t < rows; ++t) {
    const __m512 wt = _mm512_set1_ps(w[t]);
    const T* vt = v + t * D;
    for (int c = 0; c < kChunks; ++c) partial[c] = _mm512_fmadd_ps(wt, load16(vt + 16 * c), partial[c]);
  }
  addPartials<kChunks>(partial, acc);
}
#else
constexpr bool kHasAvx512Kernels = false;

template <int D, typename T>
inline void accumulateRows(const float* __restrict w, const T* __restrict v, int rows, double* __restrict acc) {
  float partial[D] = {};
  for (int t = 0; t < rows; ++t) axpy<D>(partial, w[t], v + t * D, D);
  addWidened<D>(acc, partial, D);
}

template <int D, typename T>
inline void scoreBlock16(const float* __restrict q, const T* __restrict k, float scale, float* __restrict s) {
  for (int t = 0; t < 16; ++t) s[t] = dot<D>(q, k + t * D, D) * scale;
}

template <int D, typename T>
inline void scoreBlock16Pair(const float* __restrict q0, const float* __restrict q1, const T* __restrict k, float scale, float* __restrict s0, float* __restrict s1) {
  scoreBlock16<D>(q0, k, scale, s0);
  scoreBlock16<D>(q1, k, scale, s1);
}

template <int D, typename T>
inline void scoreBlock16Quad(const float* const* q, const T* __restrict k, float scale, float* const* s) {
  for (int h = 0; h < 4; ++h) scoreBlock16<D>(q[h], k, scale, s[h]);
}

template <int D, typename T>
inline void accumulateRowsPair(const float* __restrict w0, const float* __restrict w1, const T* __restrict v, int rows, double* __restrict acc0, double* __restrict acc1) {
  accumulateRows<D>(w0, v, rows, acc0);
  accumulateRows<D>(w1, v, rows, acc1);
}
#endif

}  // namespace sigmaserve
