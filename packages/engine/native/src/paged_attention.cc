#include "paged_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include "score_block.h"
#include "thread_pool.h"
#include "vector_math.h"

namespace sigmaserve {
namespace {

// How many blocks ahead of the one being read the kernel prefetches. A block
// of one head is blockSize·d·4 bytes (4 KiB at 16×64): one DRAM page-sized
// jump per block, which the hardware prefetcher cannot predict.
constexpr int kPrefetchBlocksAhead = 2;

// A run of consecutive Q heads [q0, q1) connected through shared K or V heads.
struct Cluster {
  int q0;
  int q1;
};

// Per-shape head mapping, computed once per call.
struct HeadPlan {
  std::vector<int> kHeadOf;
  std::vector<int> vHeadOf;
  std::vector<Cluster> clusters;
  int maxClusterHeads = 0;
};

HeadPlan planHeads(const AttentionShape& s) {
  HeadPlan plan;
  for (int i = 0; i < s.numQueryHeads; ++i) {
    plan.kHeadOf.push_back(static_cast<int>(static_cast<int64_t>(i) * s.numKeyHeads / s.numQueryHeads));
    plan.vHeadOf.push_back(static_cast<int>(static_cast<int64_t>(i) * s.numValueHeads / s.numQueryHeads));
  }
  // Both mappings are non-decreasing, so a head that shares neither its K head
  // nor its V head with the previous one shares nothing with any earlier head.
  for (int i = 0; i < s.numQueryHeads; ++i) {
    const bool startsCluster = i == 0 || (plan.kHeadOf[i] != plan.kHeadOf[i - 1] && plan.vHeadOf[i] != plan.vHeadOf[i - 1]);
    if (startsCluster) plan.clusters.push_back({i, i + 1});
    else plan.clusters.back().q1 = i + 1;
  }
  for (const Cluster& c : plan.clusters) plan.maxClusterHeads = std::max(plan.maxClusterHeads, c.q1 - c.q0);
  return plan;
}

// Scratch of one thread, sized by the caller before the threads start.
struct Scratch {
  std::vector<float> scores;     // [cluster heads][scoreStride]
  std::vector<double> acc;       // [cluster heads][d]
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

// The row's sequence block entries: entry j covers positions j·bs … j·bs+bs-1.
struct RowBlocks {
  const int32_t* kSlot;
  const int32_t* vSlot;
  const uint8_t* vTier;
};

template <int D>
class ItemKernel {
 public:
  ItemKernel(const AttentionInputs& in, const HeadPlan& plan, const Geometry& g) : in_(in), plan_(plan), g_(g) {}

  void run(int row, const Cluster& cluster, Scratch& scratch) const {
    const int seq = in_.rowSeq.data[row];
    const int positions = in_.rowPos.data[row] + 1;
    const int32_t first = in_.seqBlockStart.data[seq];
    const RowBlocks blocks{in_.blockKSlot.data + first, in_.blockVSlot.data + first, in_.blockVTier.data + first};
    // Whole blocks: the 16-row score kernel may score rows past the context (ignored).
    const size_t stride = scoreStride(positions);
    float* scores = scratch.scores.data();

    scoreWithK(row, cluster, positions, blocks, scores, stride, scratch.stats);
    const bool selective = in_.topk > 0 && in_.topk < positions;
    if (selective) {
      for (int h = cluster.q0; h < cluster.q1; ++h) {
        selectiveValues(row, h, positions, blocks, scores + (h - cluster.q0) * stride, scratch);
      }
    } else {
      fullValues(row, cluster, positions, blocks, scores, stride, scratch);
    }
  }

  // Floats per Q head in the score scratch: whole blocks, rounded up to 16.
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

  const float* vBlock(const RowBlocks& blocks, int j, size_t headOff) const {
    const float* arena = blocks.vTier[j] == 0 ? in_.vDevice.data : in_.vHost.data;
    return arena + static_cast<size_t>(blocks.vSlot[j]) * g_.vSlotFloats + headOff;
  }

  // scores[h - q0][p] = q_h · k_p / sqrt(d) for every Q head of the cluster;
  // each K row is read once for all the Q heads of its K head.
  void scoreWithK(int row, const Cluster& c, int positions, const RowBlocks& blocks, float* scores, size_t stride, AttentionReadStats& stats) const {
    const int d = g_.d;
    const int bs = g_.bs;
    const int numBlocks = (positions + bs - 1) / bs;
    const size_t blockBytes = static_cast<size_t>(bs) * d * sizeof(float);
    int h = c.q0;
    while (h < c.q1) {
      const int kHead = plan_.kHeadOf[h];
      int hEnd = h;
      while (hEnd < c.q1 && plan_.kHeadOf[hEnd] == kHead) ++hEnd;
      const size_t headOff = headOffset(in_.shape.numKeyHeads, kHead);
      const float* kArena = in_.kDevice.data;
      for (int j = 0; j < numBlocks; ++j) {
        if (j + kPrefetchBlocksAhead < numBlocks) {
          prefetchBytes(kArena + static_cast<size_t>(blocks.kSlot[j + kPrefetchBlocksAhead]) * g_.kSlotFloats + headOff, blockBytes);
        }
        const float* kb = kArena + static_cast<size_t>(blocks.kSlot[j]) * g_.kSlotFloats + headOff;
        const int tEnd = std::min(bs, positions - j * bs);
        // The block (bs·d floats) stays in L1 while every Q head of the K head passes over it.
        for (int hh = h; hh < hEnd; ++hh) {
          const float* q = queryOf(row, hh);
          float* s = scores + (hh - c.q0) * stride + static_cast<size_t>(j) * bs;
          int t = 0;
          if constexpr (kHasScoreBlock16 && D > 0 && D % 16 == 0) {
            if (!in_.portableLoops) {
              for (; t + 16 <= bs && t < tEnd; t += 16) scoreBlock16<D>(q, kb + static_cast<size_t>(t) * d, g_.scale, s + t);
            }
          }
          for (; t < tEnd; ++t) s[t] = dot<D>(q, kb + static_cast<size_t>(t) * d, d) * g_.scale;
        }
      }
      stats.kBytes += static_cast<uint64_t>(positions) * d * sizeof(float);
      h = hEnd;
    }
  }

  // Full attention: softmax per Q head, then each V row is read once for all
  // the Q heads of its V head.
  void fullValues(int row, const Cluster& c, int positions, const RowBlocks& blocks, float* scores, size_t stride, Scratch& scratch) const {
    const int d = g_.d;
    const int bs = g_.bs;
    const int numBlocks = (positions + bs - 1) / bs;
    const size_t blockBytes = static_cast<size_t>(bs) * d * sizeof(float);
    const int heads = c.q1 - c.q0;
    double denominators[64];
    std::vector<double> manyDenominators;
    double* denominator = denominators;
    if (heads > 64) {
      manyDenominators.resize(heads);
      denominator = manyDenominators.data();
    }
    for (int i = 0; i < heads; ++i) {
      float* s = scores + i * stride;
      denominator[i] = expInPlace(s, positions, maxOf(s, positions));
    }
    int h = c.q0;
    while (h < c.q1) {
      const int vHead = plan_.vHeadOf[h];
      int hEnd = h;
      while (hEnd < c.q1 && plan_.vHeadOf[hEnd] == vHead) ++hEnd;
      const size_t headOff = headOffset(in_.shape.numValueHeads, vHead);
      double* acc = scratch.acc.data();
      std::fill(acc, acc + static_cast<size_t>(hEnd - h) * d, 0.0);
      for (int j = 0; j < numBlocks; ++j) {
        if (j + kPrefetchBlocksAhead < numBlocks) prefetchBytes(vBlock(blocks, j + kPrefetchBlocksAhead, headOff), blockBytes);
        const float* vb = vBlock(blocks, j, headOff);
        const int tEnd = std::min(bs, positions - j * bs);
        // The block stays in L1 while each Q head of the V head passes over it,
        // summing its bs rows in f32 (in registers), then adding that into f64.
        for (int hh = h; hh < hEnd; ++hh) {
          const float* w = scores + (hh - c.q0) * stride + static_cast<size_t>(j) * bs;
          float partialFixed[D > 0 ? D : 1];
          float* partial = D > 0 ? partialFixed : scratch.partial.data();
          std::fill(partial, partial + d, 0.0f);
          for (int t = 0; t < tEnd; ++t) axpy<D>(partial, w[t], vb + static_cast<size_t>(t) * d, d);
          addWidened<D>(acc + static_cast<size_t>(hh - h) * d, partial, d);
        }
        const uint64_t bytes = static_cast<uint64_t>(tEnd) * d * sizeof(float);
        (blocks.vTier[j] == 0 ? scratch.stats.vBytesDevice : scratch.stats.vBytesHost) += bytes;
      }
      for (int hh = h; hh < hEnd; ++hh) {
        const double* a = acc + static_cast<size_t>(hh - h) * d;
        float* o = outOf(row, hh);
        const double den = denominator[hh - c.q0];
        for (int i = 0; i < d; ++i) o[i] = static_cast<float>(a[i] / den);
      }
      h = hEnd;
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
    for (int32_t p = k; p < positions; ++p) {
      if (!(s[p] > threshold)) continue;
      std::pop_heap(kept.begin(), kept.end(), better);
      kept.back() = p;
      std::push_heap(kept.begin(), kept.end(), better);
      threshold = s[kept.front()];
    }
    std::sort(kept.begin(), kept.end());

    const int vHead = plan_.vHeadOf[h];
    const size_t headOff = headOffset(in_.shape.numValueHeads, vHead);
    const auto vRow = [&](int32_t p) { return vBlock(blocks, p / bs, headOff) + static_cast<size_t>(p % bs) * d; };
    // Rows are scattered: ask for all of them first so their misses overlap.
    for (const int32_t p : kept) prefetchBytes(vRow(p), static_cast<size_t>(d) * sizeof(float));

    float m = s[kept[0]];
    for (const int32_t p : kept) m = s[p] > m ? s[p] : m;
    double* acc = scratch.acc.data();
    std::fill(acc, acc + d, 0.0);
    double denominator = 0;
    const uint64_t rowBytes = static_cast<uint64_t>(d) * sizeof(float);
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

template <int D>
AttentionReadStats runItems(const AttentionInputs& in, const HeadPlan& plan, const Geometry& g, int numThreads) {
  const int rows = static_cast<int>(in.rowSeq.length);
  const int clusters = static_cast<int>(plan.clusters.size());
  const int items = rows * clusters;
  numThreads = std::max(1, std::min(numThreads, items));

  int maxPositions = 1;
  for (int r = 0; r < rows; ++r) maxPositions = std::max(maxPositions, in.rowPos.data[r] + 1);
  const ItemKernel<D> kernel(in, plan, g);
  // One scratch per thread index, kept across calls (allocated here, on the calling thread).
  static std::vector<Scratch> scratches;
  if (static_cast<int>(scratches.size()) < numThreads) scratches.resize(numThreads);
  for (int t = 0; t < numThreads; ++t) {
    Scratch& s = scratches[t];
    const size_t scoreFloats = static_cast<size_t>(plan.maxClusterHeads) * kernel.scoreStride(maxPositions);
    if (s.scores.size() < scoreFloats) s.scores.resize(scoreFloats);
    const size_t accFloats = static_cast<size_t>(plan.maxClusterHeads) * g.d;
    if (s.acc.size() < accFloats) s.acc.resize(accFloats);
    if (s.partial.size() < static_cast<size_t>(g.d)) s.partial.resize(g.d);
    s.kept.reserve(std::max(in.topk, 0));
    s.stats = AttentionReadStats{};
  }

  std::atomic<int> next{0};
  ThreadPool::instance().run(numThreads, [&](int threadIndex) {
    Scratch& scratch = scratches[threadIndex];
    for (int item = next.fetch_add(1, std::memory_order_relaxed); item < items; item = next.fetch_add(1, std::memory_order_relaxed)) {
      kernel.run(item / clusters, plan.clusters[item % clusters], scratch);
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

}  // namespace

std::string validateAttentionInputs(const AttentionInputs& in) {
  const AttentionShape& s = in.shape;
  if (s.numLayers <= 0 || s.numQueryHeads <= 0 || s.numKeyHeads <= 0 || s.numValueHeads <= 0 || s.headDim <= 0 || s.blockSizeTokens <= 0) {
    return "every shape field must be a positive integer";
  }
  if (in.layer < 0 || in.layer >= s.numLayers) return "layer is outside 0 … numLayers-1";
  if (in.topk < 0) return "topk must be >= 0";
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

AttentionReadStats attendPaged(const AttentionInputs& in, int numThreads) {
  const AttentionShape& s = in.shape;
  const HeadPlan plan = planHeads(s);
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
  switch (s.headDim) {
    case 32: return runItems<32>(in, plan, g, numThreads);
    case 64: return runItems<64>(in, plan, g, numThreads);
    case 128: return runItems<128>(in, plan, g, numThreads);
    default: return runItems<0>(in, plan, g, numThreads);
  }
}

const char* compiledCpuFeatures() {
  return ""
#if defined(__AVX512F__)
         " avx512f"
#endif
#if defined(__AVX512BW__)
         " avx512bw"
#endif
#if defined(__AVX512VL__)
         " avx512vl"
#endif
#if defined(__AVX512DQ__)
         " avx512dq"
#endif
#if defined(__AVX2__)
         " avx2"
#endif
#if defined(__FMA__)
         " fma"
#endif
#if defined(__AVX__)
         " avx"
#endif
#if defined(__BMI2__)
         " bmi2"
#endif
#if defined(__F16C__)
         " f16c"
#endif
#if defined(__SSE4_2__)
         " sse4_2"
#endif
      ;
}

}  // namespace sigmaserve
