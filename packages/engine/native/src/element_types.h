// How a pool stores one K or V element, and its exact widening to f32.
//
// f32 arenas are read as they are. bf16 and f16 arenas hold raw 16-bit
// patterns (the same layout, one element per value), and every element is
// widened to f32 as it is read, in registers: bf16 is the top half of an f32
// (`bits << 16`); f16 (IEEE binary16) is rebiased, subnormals normalised.
// Both widenings are exact, so after them the kernel computes exactly what it
// computes for an f32 arena holding the widened values, on either path: the
// AVX-512 loads (simd_kernels.h: a shift, or F16C's vcvtph2ps) and these
// portable twins give the same f32 for every pattern, NaN made quiet as
// vcvtph2ps makes it.
#pragma once

#include <cstdint>
#include <cstring>

namespace sigmaserve {

// The codes the TS side sends (src/attention/native-paged-attention.ts).
enum class ElementType : int32_t { F32 = 0, Bf16 = 1, F16 = 2 };

// Distinct element types for the templates; a 16-bit one is only its bits.
struct Bf16 {
  uint16_t bits;
};
struct F16 {
  uint16_t bits;
};
static_assert(sizeof(Bf16) == 2 && sizeof(F16) == 2, "16-bit elements must pack");

inline float floatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t bitsFromFloat(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

inline float widen(float x) { return x; }

inline float widen(Bf16 x) { return floatFromBits(static_cast<uint32_t>(x.bits) << 16); }

// Branch-free (so the portable loops can vectorise it): move the exponent and
// mantissa into f32's place and rebias; Inf/NaN get the all-ones exponent,
// a subnormal m·2^-24 is made as 2^-14·(1 + m/1024) − 2^-14 (exact).
inline float widen(F16 x) {
  constexpr uint32_t kShiftedExponent = 0x7c00u << 13;
  const uint32_t h = x.bits;
  const uint32_t magnitude = (h & 0x7fffu) << 13;
  const uint32_t exponent = magnitude & kShiftedExponent;
  uint32_t bits = magnitude + ((127u - 15u) << 23);
  const bool infOrNan = exponent == kShiftedExponent;
  const bool nan = infOrNan && (magnitude & 0x7fe000u) != 0;
  bits += infOrNan ? (128u - 16u) << 23 : 0u;
  bits |= nan ? 0x400000u : 0u;  // quiet
  const bool subnormal = exponent == 0;
  const float normalised = floatFromBits(bits + (subnormal ? 1u << 23 : 0u)) - (subnormal ? floatFromBits(113u << 23) : 0.0f);
  return floatFromBits(bitsFromFloat(normalised) | ((h & 0x8000u) << 16));
}

}  // namespace sigmaserve
