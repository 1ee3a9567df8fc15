import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { KvComponent, KvTier } from "./kv-index-types.js";
import { ResidencyTable, joinHash } from "./residency-table.js";
import { mixKey } from "./u64-key-table.js";

/** The oracle: per worker, per hash, K's and V's tier and a claim's expiry, in plain Maps. */
interface OracleEntry {
  k: KvTier | null;
  v: KvTier | null;
  spec: number | null;
}
type Oracle = Map<string, Map<bigint, OracleEntry>>;

const WORKERS = Array.from({ length: 12 }, (_, i) => `w${i}`);
/** Hashes whose home slot collides in small tables, plus edge values. */
const HASHES: bigint[] = [0n, 1n, 2n ** 32n, 2n ** 64n - 1n, 0xfedc_ba98_7654_3210n];
for (let lo = 0; HASHES.length < 16; lo++) if ((mixKey(lo, 3) & 31) === 0) HASHES.push(joinHash(lo, 3));

const split = (hash: bigint): [number, number] => [Number(hash & 0xffff_ffffn), Number(hash >> 32n)];
const tierArb = fc.constantFrom<KvTier>("device", "host");
const componentArb = fc.constantFrom<KvComponent>("k", "v");
const w = fc.nat(WORKERS.length - 1);
const h = fc.nat(HASHES.length - 1);

type Op =
  | { t: "store"; w: number; h: number; c: KvComponent; tier: KvTier }
  | { t: "remove"; w: number; h: number; c: KvComponent; tier: KvTier }
  | { t: "move"; w: number; h: number; c: KvComponent; from: KvTier; to: KvTier }
  | { t: "speculate"; w: number; h: number; at: number }
  | { t: "expire"; w: number; h: number; now: number }
  | { t: "clear"; w: number }
  | { t: "drop"; w: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant("store" as const), w, h, c: componentArb, tier: tierArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("remove" as const), w, h, c: componentArb, tier: tierArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("move" as const), w, h, c: componentArb, from: tierArb, to: tierArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("speculate" as const), w, h, at: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("expire" as const), w, h, now: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("clear" as const), w }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("drop" as const), w }) },
);

function entryOf(oracle: Oracle, workerId: string, hash: bigint): OracleEntry {
  let slots = oracle.get(workerId);
  if (slots === undefined) oracle.set(workerId, (slots = new Map()));
  let entry = slots.get(hash);
  if (entry === undefined) slots.set(hash, (entry = { k: null, v: null, spec: null }));
  return entry;
}

function prune(oracle: Oracle, workerId: string, hash: bigint): void {
  const entry = oracle.get(workerId)?.get(hash);
  if (entry !== undefined && entry.k === null && entry.v === null && entry.spec === null) oracle.get(workerId)!.delete(hash);
}

function applyBoth(table: ResidencyTable, oracle: Oracle, op: Op): void {
  const workerId = WORKERS[op.w]!;
  const hash = "h" in op ? HASHES[op.h]! : 0n;
  const [lo, hi] = split(hash);
  const existing = oracle.get(workerId)?.get(hash);
  switch (op.t) {
    case "store": {
      table.store(table.worker(workerId), op.c, lo, hi, op.tier);
      const entry = entryOf(oracle, workerId, hash);
      entry[op.c] = op.tier;
      if (op.c === "k") entry.spec = null;
      return;
    }
    case "remove":
      if (table.workerIndexOf(workerId) >= 0) table.remove(table.workerIndexOf(workerId), op.c, lo, hi, op.tier);
      if (existing?.[op.c] === op.tier) existing[op.c] = null;
      return prune(oracle, workerId, hash);
    case "move":
      if (table.workerIndexOf(workerId) >= 0) table.move(table.workerIndexOf(workerId), op.c, lo, hi, op.from, op.to);
      if (existing?.[op.c] === op.from) existing[op.c] = op.to;
      return;
    case "speculate": {
      table.speculate(table.worker(workerId), lo, hi, op.at);
      const entry = entryOf(oracle, workerId, hash);
      entry.spec = Math.max(entry.spec ?? op.at, op.at);
      return;
    }
    case "expire":
      table.expire(workerId, lo, hi, op.now);
      if (existing?.spec !== null && existing !== undefined && existing.spec <= op.now) existing.spec = null;
      return prune(oracle, workerId, hash);
    case "clear":
      table.clearReal(workerId);
      for (const [key, entry] of oracle.get(workerId) ?? []) {
        entry.k = entry.v = null;
        prune(oracle, workerId, key);
      }
      return;
    case "drop":
      table.dropWorker(workerId);
      oracle.delete(workerId);
      return;
  }
}

function assertSame(table: ResidencyTable, oracle: Oracle): void {
  const distinct = new Set<bigint>();
  for (const workerId of WORKERS) {
    const slots = oracle.get(workerId) ?? new Map<bigint, OracleEntry>();
    for (const hash of slots.keys()) distinct.add(hash);
    const counts = { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } };
    const groups = new Map<string, bigint[]>();
    for (const [hash, entry] of slots) {
      for (const c of ["k", "v"] as const) {
        const tier = entry[c];
        if (tier === null) continue;
        counts[c][tier]++;
        const key = `${c}/${tier}`;
        groups.set(key, [...(groups.get(key) ?? []), hash]);
      }
    }
    assert.deepEqual(table.counts(workerId), counts, `${workerId} counts`);
    const expected = ["k/device", "k/host", "v/device", "v/host"]
      .filter((key) => groups.has(key))
      .map((key) => ({ component: key[0], tier: key.slice(2), blockHashes: groups.get(key)!.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) }));
    assert.deepEqual(table.groups(workerId), expected, `${workerId} groups`);
    const claims = [...slots.values()].filter((entry) => entry.spec !== null);
    assert.equal(table.speculativeCount(workerId), claims.length, `${workerId} claims`);
    assert.equal(table.speculativeCount(workerId, 5), claims.filter((entry) => 5 < entry.spec!).length, `${workerId} claims alive at 5`);
  }
  assert.equal(table.distinctHashes, distinct.size);
  // Per hash, the holder list names exactly the workers the oracle has an entry for.
  for (const hash of HASHES) {
    const id = table.hashes.find(...split(hash));
    const holders: string[] = [];
    if (id >= 0) {
      const slab = table.holders.slab(id);
      for (let j = 0; j < table.holders.count(id); j++) holders.push(table.workerIdAt(slab[table.holders.start(id) + 2 * j]! >>> 8));
    }
    assert.deepEqual(holders.sort(), WORKERS.filter((workerId) => oracle.get(workerId)?.has(hash)).sort(), `holders of ${hash}`);
  }
}

test("residency-table - any sequence of stores, removals, moves, claims, clears and drops leaves the state a Map oracle holds", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 250 }), (ops) => {
      const table = new ResidencyTable();
      const oracle: Oracle = new Map();
      ops.forEach((op, i) => {
        applyBoth(table, oracle, op);
        if (i % 10 === 9) assertSame(table, oracle);
      });
      assertSame(table, oracle);
    }),
    { numRuns: 150 },
  );
});

test("residency-table - a hash held by every worker grows its holder list through every size class and shrinks back to nothing", () => {
  const table = new ResidencyTable();
  const [lo, hi] = split(0xabcn);
  const workers = Array.from({ length: 300 }, (_, i) => table.worker(`w${i}`));
  for (const worker of workers) table.store(worker, "k", lo, hi, "device");
  const id = table.hashes.find(lo, hi);
  assert.equal(table.holders.count(id), 300);
  for (let i = 0; i < 300; i += 2) table.remove(workers[i]!, "k", lo, hi, "device");
  assert.equal(table.holders.count(id), 150);
  for (let i = 1; i < 300; i += 2) assert.equal(table.dropWorker(`w${i}`), true);
  assert.equal(table.distinctHashes, 0);
  assert.equal(table.hashes.find(lo, hi), -1);
  // A dropped worker's index is reused, with nothing of the old one left.
  const reused = table.worker("new");
  assert.ok(reused < 300, "a freed index is handed out again");
  assert.deepEqual(table.counts("new"), { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } });
  assert.deepEqual(table.groups("new"), []);
});

test("residency-table - removing a worker costs its own entries: 20,000 of one worker go, 20,000 of another stay intact", () => {
  const table = new ResidencyTable();
  const a = table.worker("a");
  const b = table.worker("b");
  for (let i = 0; i < 20_000; i++) {
    table.store(a, "k", i, 1, "device");
    table.store(b, "v", i, i % 3 === 0 ? 1 : 2, "host");
  }
  assert.equal(table.dropWorker("a"), true);
  assert.equal(table.dropWorker("a"), false);
  assert.deepEqual(table.counts("b"), { k: { device: 0, host: 0 }, v: { device: 0, host: 20_000 } });
  assert.equal(table.distinctHashes, 20_000);
  assert.equal(table.groups("b")[0]!.blockHashes.length, 20_000);
});
