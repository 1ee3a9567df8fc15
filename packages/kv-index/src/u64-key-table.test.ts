import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { U64KeyTable, mixKey } from "./u64-key-table.js";

/** Keys whose home slot is 0 in a 16-slot table: one long probe run, the hard case for backward-shift deletion. */
function collidingKeys(count: number): [number, number][] {
  const keys: [number, number][] = [];
  for (let lo = 0; keys.length < count; lo++) if ((mixKey(lo, 7) & 15) === 0) keys.push([lo, 7]);
  return keys;
}

const EDGE_KEYS: [number, number][] = [
  [0, 0],
  [0xffff_ffff, 0xffff_ffff],
  [1, 0],
  [0, 1],
  [0x8000_0000, 0],
];

/** Checks the table against the oracle: every key present finds its id, every key absent finds -1, ids are distinct. */
function assertSame(table: U64KeyTable, oracle: Map<string, number>, universe: readonly [number, number][]): void {
  assert.equal(table.size, oracle.size);
  for (const [lo, hi] of universe) {
    const id = table.find(lo, hi);
    assert.equal(id, oracle.get(`${lo}:${hi}`) ?? -1, `key ${lo}:${hi}`);
    if (id >= 0) assert.deepEqual([table.lo(id), table.hi(id)], [lo, hi]);
  }
  assert.equal(new Set(oracle.values()).size, oracle.size, "ids are distinct");
}

test("u64-key-table - inserts, finds and deletes like a Map, through long collision runs, edge keys and growth", () => {
  const universe = [...collidingKeys(24), ...EDGE_KEYS, ...Array.from({ length: 40 }, (_, i): [number, number] => [i * 0x9e37_79b9 >>> 0, i])];
  fc.assert(
    fc.property(fc.array(fc.record({ insert: fc.boolean(), key: fc.nat(universe.length - 1) }), { maxLength: 300 }), (ops) => {
      const table = new U64KeyTable();
      const oracle = new Map<string, number>();
      for (const op of ops) {
        const [lo, hi] = universe[op.key]!;
        const name = `${lo}:${hi}`;
        if (op.insert) {
          const id = table.insert(lo, hi);
          assert.equal(id, oracle.get(name) ?? id, "an existing key keeps its id");
          oracle.set(name, id);
        } else if (oracle.has(name)) {
          table.delete(oracle.get(name)!);
          oracle.delete(name);
        }
        assertSame(table, oracle, universe);
      }
    }),
    { numRuns: 200 },
  );
});

test("u64-key-table - 200,000 keys: ids stay dense (reused after deletion) and every key is found after many doublings", () => {
  const table = new U64KeyTable();
  const n = 200_000;
  for (let i = 0; i < n; i++) assert.equal(table.insert(i, i ^ 0x5555), i);
  for (let i = 0; i < n; i += 2) table.delete(table.find(i, i ^ 0x5555));
  assert.equal(table.size, n / 2);
  for (let i = 0; i < n; i++) assert.equal(table.find(i, i ^ 0x5555) >= 0, i % 2 === 1, `key ${i}`);
  // The freed ids come back before any new one.
  for (let i = 0; i < n / 2; i++) assert.ok(table.insert(n + i, 1) < n);
  assert.equal(table.idBound, n);
  assert.equal(table.size, n);
});
