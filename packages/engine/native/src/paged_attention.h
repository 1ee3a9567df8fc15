// Paged DiffQKV attention over the K/V block pools, the native twin of
// src/attention/js-paged-attention.ts (the contract is
// src/attention/attention-kernel.ts).
//
// Model. Q heads fall into clusters: maximal runs of consecutive Q heads
// connected through a shared K head or a shared V head (for Sigma 32/4/16 a
// cluster is the 8 Q heads of one K head, with their 4 V heads; for GQA
// 32/16/16 it is the 2 Q heads of one K/V head). A work item is one row and a
// run of whole clusters of at least 8 Q heads. An item reads every K row it
// needs once, scoring it against all the Q heads of that K head, and (full
// attention) every V row once, accumulating it into all the Q heads of that
// V head; so the bytes an item streams are exactly its share of the cache,
// which is what makes DiffQKV's smaller K show up as time. Items never share
// writes, and an item's arithmetic does not depend on which thread runs it or
// on the other items, so results are bit-identical for any batch composition
// and thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "element_types.h"

namespace sigmaserve {

struct AttentionShape {
  int32_t numLayers;
  int32_t numQueryHeads;
  int32_t numKeyHeads;
  int32_t numValueHeads;
  int32_t headDim;
  int32_t blockSizeTokens;
};

struct FloatSpan {
  const float* data;
  size_t length;
};

// A K or V arena: `length` elements of `type` (f32 values or 16-bit
// patterns); `float32Array` says what the caller passed, so the validator can
// refuse a type that does not match the array.
struct ArenaSpan {
  const void* data;
  size_t length;
  ElementType type;
  bool float32Array;
};

template <typename T>
struct Span {
  const T* data;
  size_t length;
};

struct AttentionInputs {
  AttentionShape shape;
  ArenaSpan kDevice;
  ArenaSpan vDevice;  // vDevice and vHost share V's element type
  ArenaSpan vHost;
  FloatSpan q;
  float* out;
  size_t outLength;
  Span<int32_t> rowSeq;
  Span<int32_t> rowPos;
  Span<int32_t> seqBlockStart;
  Span<int32_t> blockKSlot;
  Span<int32_t> blockVSlot;
  Span<uint8_t> blockVTier;
  int32_t layer;
  int32_t topk;
  // Use only the portable loops (what a CPU without AVX-512 runs); for tests.
  bool portableLoops;
  // Profiling only (the bench's per-phase split): full attention stops after
  // this phase, and then the output is not attention. See AttentionPhases.
  int32_t stopAfterPhase = kAllPhases;

  static constexpr int32_t kAllPhases = 0;
  // Score the K rows only (no V is read).
  static constexpr int32_t kStopAfterScores = 1;
  // Scores, running maximum, rescale and exp (no V is read).
  static constexpr int32_t kStopAfterSoftmax = 2;
};

// Bytes read, with the accounting of AttentionReadStats (attention-kernel.ts),
// at the stored width (d·4 bytes per f32 row, d·2 per bf16 or f16 row).
struct AttentionReadStats {
  uint64_t vBytesDevice = 0;
  uint64_t vBytesHost = 0;
  uint64_t kBytes = 0;
};

// Empty when the inputs are consistent (every index the kernel will follow is
// inside its array), otherwise what is wrong. attend() must only be called
// with inputs that validate.
std::string validateAttentionInputs(const AttentionInputs& inputs);

// Computes the batch on `numThreads` threads (the caller is one of them).
AttentionReadStats attendPaged(const AttentionInputs& inputs, int numThreads);

// The read roofline of attendPaged: reads `slots.length` slots of
// `slotBytes` bytes each from `arena` (slot i at byte slots[i]·slotBytes),
// once, on `numThreads` threads of the same pool, and returns a checksum (the
// wrapping sum of every 64-bit word), so the reads cannot be optimised away.
// Validated by the caller: every slot lies inside the arena.
uint64_t streamSlots(const char* arena, size_t slotBytes, Span<int32_t> slots, int numThreads);

// The instruction-set extensions this binary was compiled to use (names as
// in /proc/cpuinfo), space separated; the loader checks them against the CPU.
const char* compiledCpuFeatures();

}  // namespace sigmaserve
