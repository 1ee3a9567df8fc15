/**
 * Migration through the manager's door: exportBlocks / importBlocks. Block
 * ids, LRU order and events are asserted exactly; the oracle for the bytes is
 * the source pool's own slots.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readKvFrameHeader } from "../transfer/read-kv-frame-header.js";
import { poolOf } from "./testing/pool-of.js";
import { PROMPT, corrupt, removed, slotData, sourceWithThreeCachedBlocks, stored, target } from "./testing/transfer-fixtures.js";

test("kvcache transfer - exported blocks import into another pool bit for bit and are cached there", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames, exported, missing } = source.m.exportBlocks([...source.hashes, 0xdeadn], "f32");
  assert.deepEqual(exported, source.hashes);
  assert.deepEqual(missing, [0xdeadn]);
  const { m: into } = target();
  const result = into.importBlocks(frames, source.parents);
  assert.deepEqual(result, { imported: source.hashes, present: [], refused: [], noRoom: [] });
  for (const hash of source.hashes) for (const c of ["k", "v"] as const) assert.deepEqual(slotData(into, hash, c), slotData(source.m, hash, c));
  // The imported prefix is a cache hit for the same prompt on the target.
  assert.equal(into.allocate("b", { promptTokens: [1, 2, 3, 4, 5, 6, 7] })!.numCachedTokens, 6);
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache transfer - a flipped byte refuses that block by hash and it is never stored", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  // Flip a byte in the payload of block 1 of the V frame.
  corrupt(frames.v, 1);
  const { m: into } = target();
  const result = into.importBlocks(frames, source.parents);
  assert.deepEqual(result.imported, [source.hashes[0], source.hashes[2]]);
  assert.equal(result.refused.length, 1);
  assert.equal(result.refused[0]!.hash, source.hashes[1]);
  assert.match(result.refused[0]!.reason, new RegExp(`block 0x${source.hashes[1]!.toString(16).padStart(16, "0")} checksum mismatch`));
  assert.equal(poolOf(into).lookup(source.hashes[1]!), undefined);
  assert.deepEqual(into.usage().map((u) => u.usedBlocks + u.cachedFreeBlocks), [2, 2], "only the two sound blocks are held");
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache manager - importBlocks puts blocks in fresh ids after the used ones, cached with no reference, in frame order", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  const { m: into, events } = target(8);
  assert.deepEqual(into.allocate("busy", { promptTokens: [9, 9, 9] })!.blockIds, [0, 1]);
  const result = into.importBlocks(frames, source.parents);
  assert.deepEqual(result.imported, source.hashes);
  assert.deepEqual(into.findCachedPrefix(PROMPT).blockIds, [2, 3, 4]);
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => poolOf(into).refCount(id)), [1, 1, 0, 0, 0]);
  assert.deepEqual(poolOf(into).cachedFreeBlocks(), [2, 3, 4]);
  assert.deepEqual(events, [...stored(source.hashes[0]!, null), ...stored(source.hashes[1]!, source.hashes[0]!), ...stored(source.hashes[2]!, source.hashes[1]!)]);
  // A later prompt takes the imported prefix by reference.
  assert.deepEqual(into.allocate("b", { promptTokens: PROMPT })!.blockIds, [2, 3, 4, 5]);
  assert.deepEqual([2, 3, 4].map((id) => poolOf(into).refCount(id)), [1, 1, 1]);
});

test("kvcache manager - importBlocks refuses a block whose K checksum fails: no id kept, no hash registered, no event", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  corrupt(frames.k, 0);
  const { m: into, events } = target(8);
  const result = into.importBlocks(frames, source.parents);
  assert.deepEqual(result.imported, [source.hashes[1], source.hashes[2]]);
  assert.deepEqual(result.refused.map((r) => r.hash), [source.hashes[0]]);
  assert.deepEqual(result.noRoom, []);
  // The K pass gave ids 0 and 1 to the sound blocks; the V pass gave id 2 to the refused one, which went back free.
  assert.deepEqual(poolOf(into).cachedFreeBlocks(), [0, 1]);
  assert.equal(poolOf(into).lookup(source.hashes[0]!), undefined);
  assert.equal(poolOf(into).hashOf(2), null);
  assert.equal(poolOf(into).residency(2, "k"), null);
  assert.deepEqual(events, [...stored(source.hashes[1]!, source.hashes[0]!), ...stored(source.hashes[2]!, source.hashes[1]!)]);
  // Without its root the chain is no prefix hit, and the next fresh block reuses the refused block's id.
  assert.deepEqual(into.findCachedPrefix(PROMPT).blockIds, []);
  assert.deepEqual(into.allocate("next", { promptTokens: [50, 51] })!.blockIds, [2]);
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache manager - importBlocks makes room by evicting cached blocks in LRU order, never a used one", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  const { m: into, events } = target(4);
  assert.deepEqual(into.allocate("busy", { promptTokens: [9, 9] })!.blockIds, [0]);
  const cachedPrompt = [7, 7, 8, 8, 5];
  assert.deepEqual(into.allocate("c", { promptTokens: cachedPrompt })!.blockIds, [1, 2, 3]);
  into.commitTokens("c", cachedPrompt);
  into.free("c"); // the tail goes first: LRU order 2, 1; the partial block 3 is freed
  const [c0, c1] = into.promptBlockHashes(cachedPrompt) as [bigint, bigint];
  events.length = 0;
  const result = into.importBlocks(frames, source.parents);
  assert.deepEqual(result.imported, source.hashes);
  assert.deepEqual(into.findCachedPrefix(PROMPT).blockIds, [3, 2, 1]);
  assert.equal(poolOf(into).refCount(0), 1, "the used block is untouched");
  // Each import took the LRU cached block: c1 (the tail, freed first), then c0.
  assert.deepEqual(events.filter((e) => e.kind === "removed"), [...removed(c1), ...removed(c0)]);
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache manager - importBlocks with every block used reports all as no room and changes nothing", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  const { m: into, events } = target(2);
  assert.deepEqual(into.allocate("busy", { promptTokens: [9, 9, 9] })!.blockIds, [0, 1]);
  const before = into.usage();
  const result = into.importBlocks(frames, source.parents);
  assert.deepEqual(result, { imported: [], present: [], refused: [], noRoom: source.hashes });
  assert.deepEqual(into.usage(), before);
  assert.deepEqual(events, []);
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache manager - importBlocks skips blocks already held and reports them present", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  const { m: into, events } = target(8);
  into.importBlocks(frames, source.parents);
  events.length = 0;
  const again = into.importBlocks(frames, source.parents);
  assert.deepEqual(again, { imported: [], present: source.hashes, refused: [], noRoom: [] });
  assert.deepEqual(events, []);
  assert.deepEqual(poolOf(into).cachedFreeBlocks(), [0, 1, 2]);
});

test("kvcache manager - exportBlocks lists hashes it does not hold as missing, frames only the held ones, and keeps no reference", () => {
  const source = sourceWithThreeCachedBlocks();
  const other = source.m.promptBlockHashes([40, 41, 42])[0]!; // a real hash this cache never computed
  assert.deepEqual(poolOf(source.m).cachedFreeBlocks(), [2, 1, 0]); // freed tail first
  const { frames, exported, missing } = source.m.exportBlocks([source.hashes[2]!, other, source.hashes[0]!, 0xdeadn], "f16");
  assert.deepEqual(exported, [source.hashes[2], source.hashes[0]]);
  assert.deepEqual(missing, [other, 0xdeadn]);
  for (const c of ["k", "v"] as const) {
    const header = readKvFrameHeader(frames[c]);
    assert.deepEqual(header.hashes, [source.hashes[2], source.hashes[0]]);
    assert.equal(header.wireDtype, "f16");
  }
  // Pinned while framed, then released in export order: an exported block was just used.
  assert.deepEqual(poolOf(source.m).cachedFreeBlocks(), [1, 2, 0]);
  assert.deepEqual([0, 1, 2].map((id) => poolOf(source.m).refCount(id)), [0, 0, 0]);
});

test("kvcache manager - exportBlocks reads a V half from the host tier; the importer holds both halves on the device", () => {
  const source = sourceWithThreeCachedBlocks({ vHostBlocks: 4 });
  const id = poolOf(source.m).lookup(source.hashes[1]!)!;
  assert.ok(poolOf(source.m).demote(id, "v"));
  assert.equal(poolOf(source.m).residency(id, "v")!.tier, "host");
  const { frames } = source.m.exportBlocks(source.hashes, "f32");
  const { m: into } = target(8);
  assert.deepEqual(into.importBlocks(frames, source.parents).imported, source.hashes);
  for (const hash of source.hashes) {
    for (const c of ["k", "v"] as const) {
      assert.deepEqual(slotData(into, hash, c), slotData(source.m, hash, c));
      assert.equal(poolOf(into).residency(poolOf(into).lookup(hash)!, c)!.tier, "device");
    }
  }
});
