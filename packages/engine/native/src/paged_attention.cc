#include "paged_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include "simd_kernels.h"
#include "thread_pool.h"
#include "vector_math.h"

namespace sigmaserve {
namespace {

// How many blocks ahead of the one being read the kernel prefetches. Block
// slots are scattered over the arena, so every block is a jump the hardware
// prefetcher cannot predict.
// Measured on the 16K × 8 decode: 1, 2 and 4 blocks within noise of each
// other, none at all ~15% slower.
constexpr int kPrefetchBlocksAhead = 2;

// NOTE: work items are as large as load balance allows: whole rows when the
// batch gives every thread at least kItemsPerThread items, else rows split
// into runs of whole clusters (a lone row: one run per thread). The K heads and V heads an item reads from one
// block are one contiguous run in the slot (for Sigma 32/4/16 at d 64, bs 16,
// whole rows read 16 KiB of K and 64 KiB of V per block, against 4 KiB per
// head). Scattered reads stream at ~21 GB/s in 4 KiB pieces, ~26 GB/s in
// 16 KiB and ~30 GB/s in 64 KiB on this machine (2 threads). The grouping
// changes only the order of memory accesses, never a head's arithmetic, so
// results do not depend on it.
constexpr int kItemsPerThread = 2;

// A work item's Q heads [q0, q1), and the K and V heads they read.
struct HeadRange {
  int q0;
  int q1;
  int k0;  // K heads k0 … k1-1 (consecutive: the mapping is non-decreasing)
  int k1;
  int v0;
  int v1;
  int keyHeadsRead;    // distinct K heads of q0 … q1-1 (k1-k0 unless n_k > n_q)
  int valueHeadsRead;  // distinct V heads
};

// Per-shape head mapping, computed once per call.
struct HeadPlan {
  std::vector<int> kHeadOf;
  std::vector<int> vHeadOf;
  std::vector<HeadRange> items;
  int maxItemHeads = 0;
};

// Splits each row's Q heads into about `itemsPerRow` items of whole clusters.
HeadPlan planHeads(const AttentionShape& s, int itemsPerRow) {
  HeadPlan plan;
  for (int i = 0; i < s.numQueryHeads; ++i) {
    plan.kHeadOf.push_back(static_cast<int>(static_cast<int64_t>(i) * s.numKeyHeads / s.numQueryHeads));
    plan.vHeadOf.push_back(static_cast<int>(static_cast<int64_t>(i) * s.numValueHeads / s.numQueryHeads));
  }
  const int targetHeads = (s.numQueryHeads + itemsPerRow - 1) / itemsPerRow;
  // A cluster is a run of Q heads connected through shared K or V heads. Both
  // mappings are non-decreasing, so a head that shares neither its K head nor
  // its V head with the previous one shares nothing with any earlier head:
  // that is where a cluster, and possibly an item, may start.
  for (int i = 0; i < s.numQueryHeads; ++i) {
    const bool clusterStart = i == 0 || (plan.kHeadOf[i] != plan.kHeadOf[i - 1] && plan.vHeadOf[i] != plan.vHeadOf[i - 1]);
    if (clusterStart && (plan.items.empty() || plan.items.back().q1 - plan.items.back().q0 >= targetHeads)) {
      plan.items.push_back({i, i + 1, 0, 0, 0, 0, 0, 0});
    } else {
      plan.items.back().q1 = i + 1;
    }
  }
  for (HeadRange& item : plan.items) {
    item.k0 = plan.kHeadOf[item.q0];
    item.k1 = plan.kHeadOf[item.q1 - 1] + 1;
    item.v0 = plan.vHeadOf[item.q0];
    item.v1 = plan.vHeadOf[item.q1 - 1] + 1;
    for (int i = item.q0; i < item.q1; ++i) {
      item.keyHeadsRead += i == item.q0 || plan.kHeadOf[i] != plan.kHeadOf[i - 1];
      item.valueHeadsRead += i == item.q0 || plan.vHeadOf[i] != plan.vHeadOf[i - 1];
    }
    plan.maxItemHeads = std::max(plan.maxItemHeads, item.q1 - item.q0);
  }
  return plan;
}

// Scratch of one thread, sized by the caller before the threads start.
struct Scratch {
  std::vector<float> scores;     // [item heads][scoreStride] (selective) or [item heads][block] (full)
  std::vector<double> acc;       // [item heads][d]
  std::vector<double> denominator;  // [item heads]
  std::vector<float> runningMax;    // [item heads]
  std::vector<float> partial;    // [d]: one block's sum when d is not a compiled size
  std::vector<int32_t> kept;     // top-k positions of one head
  AttentionReadStats stats;
};

struct Geometry {
  int d;
  int bs;
  size_t kSlotFloats;
  size_t vSlotFloats;
  float scale;
};

size_t roundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Prefetches the run of bytes an item will read from a later block in
// `parts` slices, one per Q head processed now, so the prefetches are spread
// over the compute instead of issued in one burst (a burst of 256 prefetches
// fills the core's miss queue and stalls it).
class RunPrefetcher {
 public:
  RunPrefetcher(size_t runBytes, int parts) : runBytes_(runBytes), sliceBytes_(roundUp((runBytes + parts - 1) / parts, 64)) {}

  void slice(const char* run, int part) const {
    if (run == nullptr) return;
    const size_t start = static_cast<size_t>(part) * sliceBytes_;
    if (start < runBytes_) prefetchBytes(run + start, std::min(sliceBytes_, runBytes_ - start));
  }

 private:
  size_t runBytes_;
  size_t sliceBytes_;
};

// The row's sequence block entries: entry j covers positions j·bs … j·bs+bs-1.
struct RowBlocks {
  const int32_t* kSlot;
  const int32_t* vSlot;
  const uint8_t* vTier;
};

// KT, VT: the element types of the K and V arenas (float, Bf16, F16).
template <int D, typename KT, typename VT>
class ItemKernel {
 public:
  ItemKernel(const AttentionInputs& in, const HeadPlan& plan, const Geometry& g) : in_(in), plan_(plan), g_(g) {}

  void run(int row, const HeadRange& item, Scratch& scratch) const {
    const int seq = in_.rowSeq.data[row];
    const int positions = in_.rowPos.data[row] + 1;
    const int32_t first = in_.seqBlockStart.data[seq];
    const RowBlocks blocks{in_.blockKSlot.data + first, in_.blockVSlot.data + first, in_.blockVTier.data + first};
    const bool selective = in_.topk > 0 && in_.topk < positions;
    if (!selective) {
      fullAttention(row, item, positions, blocks, scratch);
      return;
    }
    const size_t stride = scoreStride(positions);
    float* scores = scratch.scores.data();
    scoreWithK(row, item, positions, blocks, scores, stride, scratch.stats);
    for (int h = item.q0; h < item.q1; ++h) selectiveValues(row, h, positions, blocks, scores + (h - item.q0) * stride, scratch);
  }

  // Floats per Q head in the score scratch: whole blocks (the 16-row score
  // kernel may score rows past the context, which are then ignored), rounded up to 16.
  size_t scoreStride(int positions) const {
    const size_t numBlocks = (static_cast<size_t>(positions) + g_.bs - 1) / g_.bs;
    return roundUp(numBlocks * g_.bs, kLanes);
  }

 private:
  const float* queryOf(int row, int h) const {
    return in_.q.data + (static_cast<size_t>(row) * in_.shape.numQueryHeads + h) * g_.d;
  }
  float* outOf(int row, int h) const { return in_.out + (static_cast<size_t>(row) * in_.shape.numQueryHeads + h) * g_.d; }

  // Offset of (layer, head) inside a slot of a pool with `heads` heads.
  size_t headOffset(int heads, int head) const {
    return (static_cast<size_t>(in_.layer) * heads + head) * g_.bs * g_.d;
  }

  const KT* kSlotOf(const RowBlocks& blocks, int j) const {
    return static_cast<const KT*>(in_.kDevice.data) + static_cast<size_t>(blocks.kSlot[j]) * g_.kSlotFloats;
  }

  const VT* vSlotOf(const RowBlocks& blocks, int j) const {
    const VT* arena = static_cast<const VT*>(blocks.vTier[j] == 0 ? in_.vDevice.data : in_.vHost.data);
    return arena + static_cast<size_t>(blocks.vSlot[j]) * g_.vSlotFloats;
  }

  // s[t] = q · k_t / sqrt(d) for the rows t < tEnd of one head's block
  // (whole groups of 16 rows: rows up to the block's end may be scored too).
  void scoreRows(const float* q, const KT* kb, int tEnd, float* s) const {
    const int d = g_.d;
    int t = 0;
    if constexpr (kHasAvx512Kernels && D > 0 && D % 16 == 0) {
      if (!in_.portableLoops) {
        for (; t + 16 <= g_.bs && t < tEnd; t += 16) scoreBlock16<D>(q, kb + static_cast<size_t>(t) * d, g_.scale, s + t);
      }
    }
    for (; t < tEnd; ++t) s[t] = dot<D>(q, kb + static_cast<size_t>(t) * d, d) * g_.scale;
  }

  // scores[h - q0][p] = q_h · k_p / sqrt(d) for every Q head of the item;
  // each K row is read once (from memory) for all the Q heads of its K head.
  void scoreWithK(int row, const HeadRange& item, int positions, const RowBlocks& blocks, float* scores, size_t stride, AttentionReadStats& stats) const {
    const int d = g_.d;
    const int bs = g_.bs;
    const int numBlocks = (positions + bs - 1) / bs;
    const size_t firstHead = headOffset(in_.shape.numKeyHeads, item.k0);
    const size_t runBytes = static_cast<size_t>(item.k1 - item.k0) * bs * d * sizeof(KT);
    const RunPrefetcher prefetcher(runBytes, item.q1 - item.q0);
    for (int j = 0; j < numBlocks; ++j) {
      const char* ahead = j + kPrefetchBlocksAhead < numBlocks ? reinterpret_cast<const char*>(kSlotOf(blocks, j + kPrefetchBlocksAhead) + firstHead) : nullptr;
      const KT* slot = kSlotOf(blocks, j);
      const int tEnd = std::min(bs, positions - j * bs);
      // A head's bs·d elements stay in L1 while every Q head of that K head passes over them.
      scoreBlock(row, item, slot, tEnd, scores + static_cast<size_t>(j) * bs, stride, prefetcher, ahead);
    }
    stats.kBytes += static_cast<uint64_t>(positions) * item.keyHeadsRead * d * sizeof(KT);
  }

  // Scores of block rows 0 … tEnd-1 for every Q head of the item into
  // weights[i·blockStride …] (the selective path: all heads, then selection).
  void scoreBlock(int row, const HeadRange& item, const KT* kSlot, int tEnd, float* weights, size_t blockStride, const RunPrefetcher& ahead, const char* aheadRun) const {
    for (int h = item.q0; h < item.q1;) h = scoreGroup(row, item, h, kSlot, tEnd, weights, blockStride, ahead, aheadRun);
  }

  // Scores of block rows 0 … tEnd-1 for Q head h and the heads after it that
  // are scored with it, into weights[i·blockStride …]; returns the next head.
  // With the AVX-512 kernels four (else two) Q heads of the same K head are
  // scored together, so each K row is loaded (and widened) once for them;
  // each score's operations are those of scoreRows either way. `also`
  // prefetches another run (full attention: V's) alongside, a slice per head.
  int scoreGroup(int row, const HeadRange& item, int h, const KT* kSlot, int tEnd, float* weights, size_t blockStride, const RunPrefetcher& ahead, const char* aheadRun,
                 const RunPrefetcher* also = nullptr, const char* alsoRun = nullptr) const {
    const int i = h - item.q0;
    const KT* kb = kSlot + headOffset(in_.shape.numKeyHeads, plan_.kHeadOf[h]);
    float* w = weights + i * blockStride;
    int heads = 1;
    if constexpr (kHasAvx512Kernels && D > 0 && D % 16 == 0 && D <= 64) {
      if (!in_.portableLoops && g_.bs % 16 == 0) {
        // NOTE: four heads only for 16-bit K, where widening is the cost saved;
        // with f32 K, pairs measured faster in the DRAM-bound bench rows.
        if (sizeof(KT) == 2 && h + 3 < item.q1 && plan_.kHeadOf[h + 3] == plan_.kHeadOf[h]) {
          heads = 4;
        } else if (h + 1 < item.q1 && plan_.kHeadOf[h + 1] == plan_.kHeadOf[h]) {
          heads = 2;
        }
      }
    }
    for (int x = 0; x < heads; ++x) {
      ahead.slice(aheadRun, i + x);
      if (also != nullptr) also->slice(alsoRun, i + x);
    }
    if constexpr (kHasAvx512Kernels && D > 0 && D % 16 == 0 && D <= 64) {
      // Whole groups of 16 rows, as scoreRows scores them.
      if (heads == 4) {
        const float* q[4] = {queryOf(row, h), queryOf(row, h + 1), queryOf(row, h + 2), queryOf(row, h + 3)};
        for (int t = 0; t < tEnd; t += 16) {
          float* s[4] = {w + t, w + blockStride + t, w + 2 * blockStride + t, w + 3 * blockStride + t};
          scoreBlock16Quad<D>(q, kb + static_cast<size_t>(t) * D, g_.scale, s);
        }
        return h + 4;
      }
      if (heads == 2) {
        for (int t = 0; t < tEnd; t += 16) scoreBlock16Pair<D>(queryOf(row, h), queryOf(row, h + 1), kb + static_cast<size_t>(t) * D, g_.scale, w + t, w + blockStride + t);
        return h + 2;
      }
    }
    scoreRows(queryOf(row, h), kb, tEnd, w);
    return h + 1;
  }

  // acc[i] += Σ_t w_i[t]·v[t] for Q heads hBegin … hEnd-1 of the item, over
  // block rows 0 … tEnd-1 of each one's V head, summed in f32 then added into
  // f64. With the AVX-512 kernels two Q heads of the same V head (both in the
  // range) share each V row's load. Prefetches slices heads + i of `ahead`
  // (scoreGroup issued slices 0 … heads-1).
  void valuesRange(const HeadRange& item, int hBegin, int hEnd, const VT* vSlot, int tEnd, const float* weights, size_t blockStride, double* acc, Scratch& scratch, const RunPrefetcher& ahead, const char* aheadRun) const {
    const int d = g_.d;
    const int heads = item.q1 - item.q0;
    for (int h = hBegin; h < hEnd;) {
      const int i = h - item.q0;
      const VT* vb = vSlot + headOffset(in_.shape.numValueHeads, plan_.vHeadOf[h]);
      const float* w = weights + i * blockStride;
      double* a = acc + static_cast<size_t>(i) * d;
      if constexpr (kHasAvx512Kernels && D > 0 && D % 16 == 0) {
        if (!in_.portableLoops) {
          ahead.slice(aheadRun, heads + i);
          if (h + 1 < hEnd && plan_.vHeadOf[h + 1] == plan_.vHeadOf[h]) {
            ahead.slice(aheadRun, heads + i + 1);
            accumulateRowsPair<D>(w, w + blockStride, vb, tEnd, a, a + d);
            h += 2;
          } else {
            accumulateRows<D>(w, vb, tEnd, a);
            h += 1;
          }
          continue;
        }
      }
      ahead.slice(aheadRun, heads + i);
      float* partial = scratch.partial.data();
      std::fill(partial, partial + d, 0.0f);
      for (int t = 0; t < tEnd; ++t) axpy<D>(partial, w[t], vb + static_cast<size_t>(t) * d, d);
      addWidened<D>(a, partial, d);
      h += 1;
    }
  }

  // Full attention in one pass over the blocks, with an online softmax: per
  // block and group of Q heads scored together, score the block's K rows
  // (QK), then per Q head raise its running maximum if the block beats it
  // (rescaling what is summed so far by exp(old - new)) and turn the scores
  // into weights (softmax), then add the weighted V rows (PV). K and V stream
  // together, so the arithmetic overlaps the V reads instead of leaving
  // memory idle in a separate K pass. Each K and V row is read from memory
  // once for all the Q heads of its K or V head, and from L1 once per 4 (K)
  // or 2 (V) of them. NOTE: heads are grouped only to share loads; each
  // head's operations and their order are unchanged, so are its bits.
  void fullAttention(int row, const HeadRange& item, int positions, const RowBlocks& blocks, Scratch& scratch) const {
    const int d = g_.d;
    const int bs = g_.bs;
    const int numBlocks = (positions + bs - 1) / bs;
    const int heads = item.q1 - item.q0;
    const size_t blockStride = roundUp(bs, kLanes);
    float* weights = scratch.scores.data();  // [heads][blockStride]: one block's scores, then weights
    double* acc = scratch.acc.data();        // [heads][d]
    double* denominator = scratch.denominator.data();
    float* runningMax = scratch.runningMax.data();
    std::fill(acc, acc + static_cast<size_t>(heads) * d, 0.0);
    std::fill(denominator, denominator + heads, 0.0);
    std::fill(runningMax, runningMax + heads, -INFINITY);

    const size_t kFirst = headOffset(in_.shape.numKeyHeads, item.k0);
    const size_t vFirst = headOffset(in_.shape.numValueHeads, item.v0);
    const RunPrefetcher kAheadParts(static_cast<size_t>(item.k1 - item.k0) * bs * d * sizeof(KT), heads);
    // V's prefetches are spread over the QK and the PV phase (half each), so
    // memory is kept busy with V while the scores are computed.
    const RunPrefetcher vAheadParts(static_cast<size_t>(item.v1 - item.v0) * bs * d * sizeof(VT), 2 * heads);
    const int32_t stopAfter = in_.stopAfterPhase;
    const bool readValues = stopAfter == AttentionInputs::kAllPhases;
    for (int j = 0; j < numBlocks; ++j) {
      const bool prefetch = j + kPrefetchBlocksAhead < numBlocks;
      const char* kAhead = prefetch ? reinterpret_cast<const char*>(kSlotOf(blocks, j + kPrefetchBlocksAhead) + kFirst) : nullptr;
      const char* vAhead = prefetch && readValues ? reinterpret_cast<const char*>(vSlotOf(blocks, j + kPrefetchBlocksAhead) + vFirst) : nullptr;
      const KT* kSlot = kSlotOf(blocks, j);
      const VT* vSlot = vSlotOf(blocks, j);
      const int tEnd = std::min(bs, positions - j * bs);
      // Per group of Q heads scored together (4 or 2 of one K head, or 1):
      // QK, then each head's softmax, then PV, so V's loads come in slices
      // between the scoring, not as one burst at the end of the block.
      for (int h = item.q0; h < item.q1;) {
        const int groupEnd = scoreGroup(row, item, h, kSlot, tEnd, weights, blockStride, kAheadParts, kAhead, &vAheadParts, vAhead);
        if (stopAfter != AttentionInputs::kStopAfterScores) {
          for (int i = h - item.q0; i < groupEnd - item.q0; ++i) {
            float* w = weights + i * blockStride;
            const bool whole = tEnd == kLanes;
            // Softmax: raise the running maximum if the block beats it (rescaling what is summed so far), then weights.
            const float blockMax = whole ? maxOf<kLanes>(w, kLanes) : maxOf(w, tEnd);
            double* a = acc + static_cast<size_t>(i) * d;
            if (blockMax > runningMax[i]) {
              if (j > 0) {
                const double rescale = std::exp(static_cast<double>(runningMax[i]) - static_cast<double>(blockMax));
                for (int x = 0; x < d; ++x) a[x] *= rescale;
                denominator[i] *= rescale;
              }
              runningMax[i] = blockMax;
            }
            denominator[i] += whole ? expInPlace<kLanes>(w, kLanes, runningMax[i]) : expInPlace(w, tEnd, runningMax[i]);
          }
          if (readValues) valuesRange(item, h, groupEnd, vSlot, tEnd, weights, blockStride, acc, scratch, vAheadParts, vAhead);
        }
        h = groupEnd;
      }
      const uint64_t bytes = readValues ? static_cast<uint64_t>(tEnd) * item.valueHeadsRead * d * sizeof(VT) : 0;
      (blocks.vTier[j] == 0 ? scratch.stats.vBytesDevice : scratch.stats.vBytesHost) += bytes;
    }
    scratch.stats.kBytes += static_cast<uint64_t>(positions) * item.keyHeadsRead * d * sizeof(KT);
    for (int h = item.q0; h < item.q1; ++h) {
      const int i = h - item.q0;
      const double* a = acc + static_cast<size_t>(i) * d;
      float* o = outOf(row, h);
      for (int x = 0; x < d; ++x) o[x] = static_cast<float>(a[x] / denominator[i]);
    }
  }

  // Selective V for one Q head: keep the topk highest scores (ties: the
  // earlier position), renormalise over them, read only their V rows.
  void selectiveValues(int row, int h, int positions, const RowBlocks& blocks, const float* s, Scratch& scratch) const {
    const int d = g_.d;
    const int bs = g_.bs;
    const int k = in_.topk;
    std::vector<int32_t>& kept = scratch.kept;
    kept.clear();
    // A heap whose top is the worst kept position. Positions arrive in
    // ascending order, so a newcomer that only ties the worst never displaces it.
    const auto better = [s](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
    for (int32_t p = 0; p < k; ++p) kept.push_back(p);
    std::make_heap(kept.begin(), kept.end(), better);
    float threshold = s[kept.front()];
    // Most runs of 16 scores hold nothing above the threshold: test them with one vector max.
    for (int32_t p0 = k; p0 < positions; p0 += kLanes) {
      const int32_t pEnd = std::min(positions, p0 + kLanes);
      if (!(maxOf(s + p0, pEnd - p0) > threshold)) continue;
      for (int32_t p = p0; p < pEnd; ++p) {
        if (!(s[p] > threshold)) continue;
        std::pop_heap(kept.begin(), kept.end(), better);
        kept.back() = p;
        std::push_heap(kept.begin(), kept.end(), better);
        threshold = s[kept.front()];
      }
    }
    std::sort(kept.begin(), kept.end());

    const size_t headOff = headOffset(in_.shape.numValueHeads, plan_.vHeadOf[h]);
    const auto vRow = [&](int32_t p) { return vSlotOf(blocks, p / bs) + headOff + static_cast<size_t>(p % bs) * d; };
    // Rows are scattered: ask for all of them first so their misses overlap.
    for (const int32_t p : kept) prefetchBytes(vRow(p), static_cast<size_t>(d) * sizeof(VT));

    float m = s[kept[0]];
    for (const int32_t p : kept) m = s[p] > m ? s[p] : m;
    double* acc = scratch.acc.data();
    std::fill(acc, acc + d, 0.0);
    double denominator = 0;
    const uint64_t rowBytes = static_cast<uint64_t>(d) * sizeof(VT);
    for (const int32_t p : kept) {
      const float w = expNonPositive(s[p] - m);
      denominator += w;
      axpyDouble<D>(acc, w, vRow(p), d);
      (blocks.vTier[p / bs] == 0 ? scratch.stats.vBytesDevice : scratch.stats.vBytesHost) += rowBytes;
    }
    float* o = outOf(row, h);
    for (int i = 0; i < d; ++i) o[i] = static_cast<float>(acc[i] / denominator);
  }

  const AttentionInputs& in_;
  const HeadPlan& plan_;
  const Geometry& g_;
};

template <int D, typename KT, typename VT>
AttentionReadStats runItems(const AttentionInputs& in, const HeadPlan& plan, const Geometry& g, int numThreads) {
  const int rows = static_cast<int>(in.rowSeq.length);
  const int itemsPerRow = static_cast<int>(plan.items.size());
  const int items = rows * itemsPerRow;
  numThreads = std::max(1, std::min(numThreads, items));

  int maxPositions = 1;
  for (int r = 0; r < rows; ++r) maxPositions = std::max(maxPositions, in.rowPos.data[r] + 1);
  const ItemKernel<D, KT, VT> kernel(in, plan, g);
  // One scratch per thread index, kept across calls (allocated here, on the calling thread).
  static std::vector<Scratch> scratches;
  if (static_cast<int>(scratches.size()) < numThreads) scratches.resize(numThreads);
  for (int t = 0; t < numThreads; ++t) {
    Scratch& s = scratches[t];
    // Selective V keeps every score of a row; full attention one block's.
    const size_t scoreFloats = static_cast<size_t>(plan.maxItemHeads) * (in.topk > 0 ? kernel.scoreStride(maxPositions) : roundUp(g.bs, kLanes));
    if (s.scores.size() < scoreFloats) s.scores.resize(scoreFloats);
    const size_t accFloats = static_cast<size_t>(plan.maxItemHeads) * g.d;
    if (s.acc.size() < accFloats) s.acc.resize(accFloats);
    if (s.partial.size() < static_cast<size_t>(g.d)) s.partial.resize(g.d);
    if (s.denominator.size() < static_cast<size_t>(plan.maxItemHeads)) s.denominator.resize(plan.maxItemHeads);
    if (s.runningMax.size() < static_cast<size_t>(plan.maxItemHeads)) s.runningMax.resize(plan.maxItemHeads);
    s.kept.reserve(std::max(in.topk, 0));
    s.stats = AttentionReadStats{};
  }

  std::atomic<int> next{0};
  ThreadPool::instance().run(numThreads, [&](int threadIndex) {
    Scratch& scratch = scratches[threadIndex];
    for (int item = next.fetch_add(1, std::memory_order_relaxed); item < items; item = next.fetch_add(1, std::memory_order_relaxed)) {
      kernel.run(item / itemsPerRow, plan.items[item % itemsPerRow], scratch);
    }
  });

  AttentionReadStats total;
  for (int t = 0; t < numThreads; ++t) {
    total.kBytes += scratches[t].stats.kBytes;
    total.vBytesDevice += scratches[t].stats.vBytesDevice;
    total.vBytesHost += scratches[t].stats.vBytesHost;
  }
  return total;
}

// Calls f with a value of the element type `type` names (its type is what matters).
template <typename F>
AttentionReadStats withElementType(ElementType type, F&& f) {
  switch (type) {
    case ElementType::Bf16: return f(Bf16{});
    case ElementType::F16: return f(F16{});
    case ElementType::F32: break;
  }
  return f(0.0f);
}

}  // namespace

AttentionReadStats attendPaged(const AttentionInputs& in, int numThreads) {
  const AttentionShape& s = in.shape;
  const int rows = static_cast<int>(in.rowSeq.length);
  const int threads = std::max(1, numThreads);
  // One row splits into one item per thread (its items cost the same);
  // several rows into enough items to even out rows of different lengths.
  const int itemsPerRow = rows <= 1 ? threads : std::max(1, (kItemsPerThread * threads + rows - 1) / rows);
  const HeadPlan plan = planHeads(s, itemsPerRow);
  const Geometry g{
      s.headDim,
      s.blockSizeTokens,
      static_cast<size_t>(s.numLayers) * s.numKeyHeads * s.blockSizeTokens * s.headDim,
      static_cast<size_t>(s.numLayers) * s.numValueHeads * s.blockSizeTokens * s.headDim,
      1.0f / std::sqrt(static_cast<float>(s.headDim)),
  };
  if (in.rowSeq.length == 0) return AttentionReadStats{};
  // The per-thread scratch and the pool are process-wide: one call at a time
  // (several Node environments, e.g. worker threads, may share the addon).
  static std::mutex callMutex;
  std::lock_guard<std::mutex> lock(callMutex);
  return withElementType(in.kDevice.type, [&](auto k) {
    return withElementType(in.vDevice.type, [&](auto v) {
      using KT = decltype(k);
      using VT = decltype(v);
      switch (s.headDim) {
        case 32: return runItems<32, KT, VT>(in, plan, g, numThreads);
        case 64: return runItems<64, KT, VT>(in, plan, g, numThreads);
        case 128: return runItems<128, KT, VT>(in, plan, g, numThreads);
        default: return runItems<0, KT, VT>(in, plan, g, numThreads);
      }
    });
  });
}

}  // namespace sigmaserve
