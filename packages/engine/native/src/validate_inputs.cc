// The bounds check of an attend() call: every index the kernel will follow
// must land inside its array. The TS side checks the same first (with typed
// errors); this copy is what keeps a bug there from reading out of bounds.
#include "paged_attention.h"

namespace sigmaserve {

std::string validateAttentionInputs(const AttentionInputs& in) {
  const AttentionShape& s = in.shape;
  if (s.numLayers <= 0 || s.numQueryHeads <= 0 || s.numKeyHeads <= 0 || s.numValueHeads <= 0 || s.headDim <= 0 || s.blockSizeTokens <= 0) {
    return "every shape field must be a positive integer";
  }
  if (in.layer < 0 || in.layer >= s.numLayers) return "layer is outside 0 … numLayers-1";
  if (in.topk < 0) return "topk must be >= 0";
  for (const ArenaSpan* arena : {&in.kDevice, &in.vDevice, &in.vHost}) {
    const int32_t code = static_cast<int32_t>(arena->type);
    if (code < 0 || code > 2) return "an element type code is not 0 (f32), 1 (bf16) or 2 (f16)";
    if ((arena->type == ElementType::F32) != arena->float32Array) return "an arena's array type does not match its element type (f32: Float32Array, bf16/f16: Uint16Array)";
  }
  if (in.vHost.type != in.vDevice.type) return "vDevice and vHost must share V's element type";
  const size_t rowFloats = static_cast<size_t>(s.numQueryHeads) * s.headDim;
  const size_t rows = in.rowSeq.length;
  if (in.rowPos.length != rows) return "rowPos and rowSeq differ in length";
  if (in.q.length != rows * rowFloats) return "q must hold rows·n_q·d floats";
  if (in.outLength != rows * rowFloats) return "out must hold rows·n_q·d floats";
  if (in.seqBlockStart.length == 0) return "seqBlockStart must have numSeqs + 1 entries";
  const size_t numSeqs = in.seqBlockStart.length - 1;
  const size_t entries = in.blockKSlot.length;
  if (in.blockVSlot.length != entries || in.blockVTier.length != entries) return "blockKSlot, blockVSlot and blockVTier differ in length";
  for (size_t i = 0; i < numSeqs; ++i) {
    const int32_t a = in.seqBlockStart.data[i];
    const int32_t b = in.seqBlockStart.data[i + 1];
    if (a < 0 || b < a || static_cast<size_t>(b) > entries) return "seqBlockStart must be non-decreasing within the block arrays";
  }
  for (size_t r = 0; r < rows; ++r) {
    const int32_t seq = in.rowSeq.data[r];
    const int32_t pos = in.rowPos.data[r];
    if (seq < 0 || static_cast<size_t>(seq) >= numSeqs) return "a rowSeq entry is not a sequence index";
    if (pos < 0) return "a rowPos entry is negative";
    const int64_t blocksNeeded = static_cast<int64_t>(pos) / s.blockSizeTokens + 1;
    if (blocksNeeded > in.seqBlockStart.data[seq + 1] - in.seqBlockStart.data[seq]) return "a row's position lies beyond its sequence's blocks";
  }
  // Slots in elements, whatever their width.
  const size_t kSlotFloats = static_cast<size_t>(s.numLayers) * s.numKeyHeads * s.blockSizeTokens * s.headDim;
  const size_t vSlotFloats = static_cast<size_t>(s.numLayers) * s.numValueHeads * s.blockSizeTokens * s.headDim;
  const size_t kSlots = in.kDevice.length / kSlotFloats;
  const size_t vSlots[2] = {in.vDevice.length / vSlotFloats, in.vHost.length / vSlotFloats};
  for (size_t e = 0; e < entries; ++e) {
    const int32_t k = in.blockKSlot.data[e];
    const int32_t v = in.blockVSlot.data[e];
    const uint8_t tier = in.blockVTier.data[e];
    if (k < 0 || static_cast<size_t>(k) >= kSlots) return "a blockKSlot entry is outside the K arena";
    if (tier > 1) return "a blockVTier entry is neither 0 (device) nor 1 (host)";
    if (v < 0 || static_cast<size_t>(v) >= vSlots[tier]) return "a blockVSlot entry is outside its V arena";
  }
  return "";
}

}  // namespace sigmaserve
