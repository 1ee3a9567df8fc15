/**
 * The pieces a migration is built from, through the manager's door: an export
 * as a stream of frames (K first, bounded size, blocks pinned while it runs),
 * an import session that takes frames as they arrive, and leases. Block ids,
 * pins and events are asserted exactly; the oracle for bytes is the source's slots.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KvTransferError } from "../transfer/errors.js";
import { readKvFrameHeader } from "../transfer/read-kv-frame-header.js";
import { KvCacheManager } from "./kv-cache-manager.js";
import { poolOf } from "./testing/pool-of.js";
import { K_BLOCK, PROMPT, V_BLOCK, corrupt, slotData, sourceWithThreeCachedBlocks, stored, target } from "./testing/transfer-fixtures.js";

const refCounts = (m: Parameters<typeof poolOf>[0], ids: number[]) => ids.map((id) => poolOf(m).refCount(id));

test("kvcache migration - an export streams every K frame before any V frame, whole blocks per frame within maxFrameBytes", () => {
  const source = sourceWithThreeCachedBlocks();
  // Room for two K blocks (64 B + 12 B of table each, 36 B of header), one V block (128 B).
  const plan = source.m.exportFrames(source.hashes, { wireDtype: "f32", maxFrameBytes: 36 + 2 * (K_BLOCK + 12) });
  const frames = [...plan.frames()];
  assert.deepEqual(
    frames.map((f) => [f.component, f.hashes.length, f.payloadBytes, f.bytes.byteLength]),
    [
      ["k", 2, 2 * K_BLOCK, 36 + 2 * (K_BLOCK + 12)],
      ["k", 1, K_BLOCK, 36 + K_BLOCK + 12],
      ["v", 1, V_BLOCK, 36 + V_BLOCK + 12], // a block bigger than the limit still travels, alone
      ["v", 1, V_BLOCK, 36 + V_BLOCK + 12],
      ["v", 1, V_BLOCK, 36 + V_BLOCK + 12],
    ],
  );
  assert.deepEqual(frames.flatMap((f) => (f.component === "k" ? f.hashes : [])), source.hashes);
  assert.deepEqual(frames.map((f) => readKvFrameHeader(f.bytes).hashes), frames.map((f) => f.hashes));
  assert.deepEqual([...plan.parents], source.hashes.map((h, i) => [h, i === 0 ? null : source.hashes[i - 1]]));
});

test("kvcache migration - an export pins its blocks until its frames are consumed, closed or abandoned", () => {
  const source = sourceWithThreeCachedBlocks();
  const ids = source.hashes.map((h) => poolOf(source.m).lookup(h)!);
  const plan = source.m.exportFrames(source.hashes, { wireDtype: "f32", maxFrameBytes: 1 });
  assert.deepEqual(refCounts(source.m, ids), [1, 1, 1], "pinned from the plan on");
  const frames = plan.frames();
  frames.next();
  assert.deepEqual(refCounts(source.m, ids), [1, 1, 1]);
  frames.return(undefined); // a consumer that stopped (a cancelled gRPC stream)
  assert.deepEqual(refCounts(source.m, ids), [0, 0, 0]);
  plan.close(); // idempotent
  assert.deepEqual(refCounts(source.m, ids), [0, 0, 0]);
  // A plan closed before its frames are asked for yields nothing and pins nothing.
  const closed = source.m.exportFrames(source.hashes, { wireDtype: "f32" });
  closed.close();
  assert.throws(() => closed.frames().next(), /closed/);
  assert.deepEqual(refCounts(source.m, ids), [0, 0, 0]);
  assert.deepEqual(source.m.checkInvariants(), []);
});

test("kvcache migration - K then V frames arriving one at a time: a block is registered once both halves pass, not before", () => {
  const source = sourceWithThreeCachedBlocks();
  const frames = [...source.m.exportFrames(source.hashes, { wireDtype: "f32", maxFrameBytes: 1 }).frames()];
  const { m: into, events } = target(8);
  const session = into.beginImport({ parents: source.parents, expected: new Set(source.hashes) });
  for (const frame of frames.filter((f) => f.component === "k")) assert.deepEqual(session.acceptFrame(frame.bytes, "k").imported, []);
  assert.equal(session.pendingBlocks, 3);
  assert.deepEqual(events, [], "K alone registers nothing");
  assert.equal(into.findCachedPrefix(PROMPT).blockIds.length, 0);
  const vResults = frames.filter((f) => f.component === "v").map((f) => session.acceptFrame(f.bytes, "v"));
  assert.deepEqual(vResults.map((r) => r.imported), source.hashes.map((h) => [h]));
  assert.deepEqual(vResults.map((r) => r.bytesWritten), [V_BLOCK, V_BLOCK, V_BLOCK]);
  assert.equal(session.pendingBlocks, 0);
  assert.deepEqual(events, source.hashes.flatMap((h, i) => stored(h, i === 0 ? null : source.hashes[i - 1]!)));
  assert.deepEqual(session.finish(), { imported: source.hashes, present: [], refused: [], noRoom: [] });
  for (const hash of source.hashes) for (const c of ["k", "v"] as const) assert.deepEqual(slotData(into, hash, c), slotData(source.m, hash, c));
  assert.deepEqual(into.usage().map((u) => [u.usedBlocks, u.cachedFreeBlocks]), [[0, 3], [0, 3]], "cached, no pins left");
});

test("kvcache migration - a source that dies after K: finish() frees every block the import allocated, nothing registered", () => {
  const source = sourceWithThreeCachedBlocks();
  const frames = [...source.m.exportFrames(source.hashes, { wireDtype: "f32", maxFrameBytes: 1 }).frames()];
  const { m: into, events } = target(8);
  into.allocate("busy", { promptTokens: [9, 9, 9] });
  const before = into.usage();
  const session = into.beginImport({ parents: source.parents });
  session.acceptFrame(frames[0]!.bytes); // K of block 0
  session.acceptFrame(frames[1]!.bytes); // K of block 1
  session.acceptFrame(frames[3]!.bytes); // V of block 0: block 0 completes
  assert.deepEqual(into.usage().map((u) => u.usedBlocks), [3, 3], "the busy request's 2, plus block 1 waiting for its V");
  const totals = session.finish();
  assert.deepEqual(totals.imported, [source.hashes[0]]);
  assert.deepEqual(totals.refused.map((r) => [r.hash, r.reason]), [[source.hashes[1], `block 0x${source.hashes[1]!.toString(16).padStart(16, "0")} arrived in only one of the K and V frames`]]);
  assert.deepEqual(into.usage().map((u) => u.usedBlocks), before.map((u) => u.usedBlocks), "pins back to where they were");
  assert.deepEqual(into.usage().map((u) => u.cachedFreeBlocks), [1, 1], "the one verified block stays as cache");
  assert.deepEqual(events, stored(source.hashes[0]!, null));
  assert.throws(() => session.acceptFrame(frames[2]!.bytes), /finished/);
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache migration - refused blocks: a bad checksum, a block not asked for, a duplicate half; none is registered", () => {
  const source = sourceWithThreeCachedBlocks();
  const [k0, k1, k2, v0, v1, v2] = [...source.m.exportFrames(source.hashes, { wireDtype: "f32", maxFrameBytes: 1 }).frames()].map((f) => f.bytes) as Uint8Array[];
  const { m: into, events } = target(8);
  const session = into.beginImport({ parents: source.parents, expected: new Set([source.hashes[0]!, source.hashes[1]!]) });
  corrupt(k1!, 0);
  const bad = session.acceptFrame(k1!);
  assert.equal(bad.refused.length, 1);
  assert.match(bad.refused[0]!.reason, /checksum mismatch/);
  assert.equal(session.pendingBlocks, 0, "a refused half allocates nothing");
  assert.deepEqual(session.acceptFrame(v1!).refused, [], "the other half of a refused block is ignored, not refused twice");
  const notAsked = session.acceptFrame(k2!);
  assert.deepEqual(notAsked.refused.map((r) => r.reason), [`block 0x${source.hashes[2]!.toString(16).padStart(16, "0")} was not offered or not asked for`]);
  session.acceptFrame(k0!);
  assert.deepEqual(session.acceptFrame(k0!).written, [], "a second K of the same block is dropped");
  session.acceptFrame(v0!);
  session.acceptFrame(v2!);
  const totals = session.finish();
  assert.deepEqual(totals.imported, [source.hashes[0]]);
  assert.deepEqual(totals.refused.map((r) => r.hash), [source.hashes[1], source.hashes[2]], "block 1 (checksum), block 2 (not asked for) once each");
  assert.deepEqual(events, stored(source.hashes[0]!, null));
  assert.equal(poolOf(into).lookup(source.hashes[1]!), undefined);
  assert.deepEqual(into.checkInvariants(), []);
});

test("kvcache migration - a frame of another model shape is an error before anything is written", () => {
  const source = sourceWithThreeCachedBlocks();
  const [k0] = [...source.m.exportFrames(source.hashes, { wireDtype: "f32" }).frames()];
  const wrong = new KvCacheManager({
    shape: { num_hidden_layers: 3, num_key_heads: 1, num_value_heads: 2, head_dim: 4 },
    blockSizeTokens: 2,
    modelId: "m",
    bytes: { k: { device: 1 << 14, host: 0 }, v: { device: 1 << 14, host: 0 } },
  });
  const session = wrong.beginImport({ parents: source.parents });
  assert.throws(() => session.acceptFrame(k0!.bytes), (err) => err instanceof KvTransferError && err.reason === "shape-mismatch" && /layers is 2, expected 3/.test(err.message));
  assert.throws(() => session.acceptFrame(k0!.bytes, "v"), (err) => err instanceof KvTransferError && err.reason === "component-mismatch");
  assert.equal(session.pendingBlocks, 0);
  assert.deepEqual(session.finish(), { imported: [], present: [], refused: [], noRoom: [] });
});

test("kvcache migration - a lease pins what it names until released; the pinned blocks survive pressure that evicts the rest", () => {
  const source = sourceWithThreeCachedBlocks();
  const ids = source.hashes.map((h) => poolOf(source.m).lookup(h)!);
  const lease = source.m.leaseBlocks([source.hashes[0]!, 0xdeadn, source.hashes[0]!, source.hashes[1]!]);
  assert.deepEqual([lease.held, lease.missing, lease.active], [[source.hashes[0], source.hashes[1]], [0xdeadn], true]);
  assert.deepEqual(refCounts(source.m, ids), [1, 1, 0]);
  // Fill the pool: only the unleased block 2 can be evicted for it.
  const capacity = poolOf(source.m).numBlocks;
  const filler = Array.from({ length: 2 * (capacity - 2) }, (_, i) => 100 + i);
  assert.notEqual(source.m.allocate("filler", { promptTokens: filler }), null);
  assert.equal(poolOf(source.m).lookup(source.hashes[2]!), undefined, "the unleased block was evicted");
  assert.equal(source.m.allocate("more", { promptTokens: [1, 1, 1] }), null, "leased blocks are never taken");
  assert.deepEqual([...lease.parents], [[source.hashes[0], null], [source.hashes[1], source.hashes[0]]]);
  lease.release();
  lease.release();
  assert.equal(lease.active, false);
  assert.deepEqual(refCounts(source.m, ids.slice(0, 2)), [0, 0]);
  assert.deepEqual(source.m.checkInvariants(), []);
});

test("kvcache migration - a chain lease pins only the longest held prefix", () => {
  const source = sourceWithThreeCachedBlocks();
  const lease = source.m.leaseBlocks([source.hashes[0]!, 0xdeadn, source.hashes[2]!], { chain: true });
  assert.deepEqual([lease.held, lease.missing], [[source.hashes[0]], [0xdeadn, source.hashes[2]]]);
  assert.deepEqual(refCounts(source.m, source.hashes.map((h) => poolOf(source.m).lookup(h)!)), [1, 0, 0]);
  assert.equal(source.m.holds(source.hashes[2]!), true);
  assert.equal(source.m.holds(0xdeadn), false);
  lease.release();
});

test("kvcache migration - hot chains: cached leaves most recently used first, each from its root; shared prefixes named in both", () => {
  const { m } = target(32);
  const run = (id: string, prompt: number[]) => {
    const admission = m.allocate(id, { promptTokens: prompt })!;
    m.commitTokens(id, prompt.slice(admission.numCachedTokens));
    m.free(id);
  };
  run("a", [1, 1, 2, 2, 3, 3]); // blocks A1 A2 A3 (3 full blocks of 2)
  run("b", [1, 1, 2, 2, 9, 9]); // shares A1 A2, then B3
  run("c", [7, 7]); // a lone root C1, used last
  const [a1, a2, a3] = m.promptBlockHashes([1, 1, 2, 2, 3, 3]) as [bigint, bigint, bigint];
  const b3 = m.promptBlockHashes([1, 1, 2, 2, 9, 9])[2]!;
  const c1 = m.promptBlockHashes([7, 7])[0]!;
  assert.deepEqual(m.hotChains(100), [[c1], [a1, a2, b3], [a1, a2, a3]]);
  assert.deepEqual(m.hotChains(4), [[c1], [a1, a2, b3]], "the next chain would name a fifth block");
  assert.deepEqual(m.hotChains(0), []);
});
