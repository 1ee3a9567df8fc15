// The bench's read roofline (see paged_attention.h): the same bytes the
// kernel reads, as whole slots, on the same thread pool, with nothing to
// compute but a wrapping sum. Threads claim one slot at a time from a shared
// counter in runs of kSlotsPerClaim, as the kernel's threads claim items,
// and while reading a slot prefetch into L2 the same piece of the slot
// kPrefetchSlotsAhead further on in their run, as the kernel does: slots are
// scattered, so the hardware prefetcher loses the stream at every slot
// boundary, and a whole slot's prefetches at once would fill the miss queue.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "paged_attention.h"
#include "thread_pool.h"
#include "vector_math.h"

namespace sigmaserve {
namespace {

constexpr int kPrefetchSlotsAhead = 2;
constexpr int kSlotsPerClaim = 32;
// Bytes summed between two prefetches (of as many bytes).
constexpr size_t kPieceBytes = 4096;
constexpr int kWordLanes = 8;

// Wrapping sum of the 64-bit words of [p, p + bytes); bytes a multiple of 8.
uint64_t sumWords(const char* p, size_t bytes) {
  uint64_t lanes[kWordLanes] = {};
  const size_t words = bytes / sizeof(uint64_t);
  size_t i = 0;
  for (; i + kWordLanes <= words; i += kWordLanes) {
    uint64_t w[kWordLanes];
    std::memcpy(w, p + i * sizeof(uint64_t), sizeof w);
    for (int l = 0; l < kWordLanes; ++l) lanes[l] += w[l];
  }
  uint64_t total = 0;
  for (; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + i * sizeof(uint64_t), sizeof w);
    total += w;
  }
  for (int l = 0; l < kWordLanes; ++l) total += lanes[l];
  return total;
}

}  // namespace

uint64_t streamSlots(const char* arena, size_t slotBytes, Span<int32_t> slots, int numThreads) {
  const int count = static_cast<int>(slots.length);
  const int claims = (count + kSlotsPerClaim - 1) / kSlotsPerClaim;
  const int threads = std::max(1, std::min(numThreads, claims));
  std::atomic<int> next{0};
  std::atomic<uint64_t> checksum{0};
  const auto slotAt = [&](int i) { return arena + static_cast<size_t>(slots.data[i]) * slotBytes; };
  ThreadPool::instance().run(threads, [&](int) {
    uint64_t sum = 0;
    for (int c = next.fetch_add(1, std::memory_order_relaxed); c < claims; c = next.fetch_add(1, std::memory_order_relaxed)) {
      const int end = std::min(count, (c + 1) * kSlotsPerClaim);
      for (int i = c * kSlotsPerClaim; i < end; ++i) {
        const char* slot = slotAt(i);
        const char* ahead = i + kPrefetchSlotsAhead < end ? slotAt(i + kPrefetchSlotsAhead) : nullptr;
        for (size_t at = 0; at < slotBytes; at += kPieceBytes) {
          const size_t piece = std::min(kPieceBytes, slotBytes - at);
          if (ahead != nullptr) prefetchBytes(ahead + at, piece);
          sum += sumWords(slot + at, piece);
        }
      }
    }
    checksum.fetch_add(sum, std::memory_order_relaxed);
  });
  return checksum.load();
}

}  // namespace sigmaserve
