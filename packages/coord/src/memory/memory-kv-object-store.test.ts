import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryKvObjectStore } from "./memory-kv-object-store.js";

test("memory KV object store - past maxBytes the oldest objects go; past ttlMs every object goes", async () => {
  let now = 0;
  const store = new MemoryKvObjectStore({ bucket: "b", maxBytes: 25, ttlMs: 100 }, () => now);
  await store.put("a", new Uint8Array(10), {});
  now = 10;
  await store.put("b", new Uint8Array(10), {});
  await store.put("c", new Uint8Array(10), {}); // 30 bytes: a goes
  assert.deepEqual((await store.list()).map((o) => o.name), ["b", "c"]);
  await store.put("b", new Uint8Array(4), { v: "2" }); // a replacement is the newest
  assert.deepEqual((await store.list()).map((o) => [o.name, o.size]), [["c", 10], ["b", 4]]);
  now = 109;
  assert.deepEqual((await store.list()).map((o) => o.name), ["c", "b"]);
  now = 110;
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.get("b"), null);
});
