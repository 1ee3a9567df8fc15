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

template <typename T>
struct Span {
  const T* data;
  size_t length;
};

struct AttentionInputs {
  AttentionShape shape;
  FloatSpan kDevice;
  FloatSpan vDevice;
  FloatSpan vHost;
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
};

// Bytes read, with the accounting of AttentionReadStats (attention-kernel.ts).
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

// The instruction-set extensions this binary was compiled to use (names as
// in /proc/cpuinfo), space separated; the loader checks them against the CPU.
const char* compiledCpuFeatures();

}  // namespace sigmaserve
