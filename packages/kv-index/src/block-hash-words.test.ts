import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvEvent } from "@sigmaserve/kvcache/events";
import { BLOCK_HASH_WORDS_PROPERTY } from "./block-hash-words.js";
import { KvIndex } from "./kv-index.js";

/** An event as the bus decoder delivers it: packed words attached, and bigints that must not be read (they throw here). */
type HashEvent = Extract<KvEvent, { blockHashes: bigint[] }>;
type Body = HashEvent extends infer E ? (E extends HashEvent ? Omit<E, "blockHashes"> : never) : never;

function packedEvent(body: Body, hashes: readonly bigint[]): KvEvent {
  const words = new Uint32Array(hashes.flatMap((h) => [Number(h & 0xffff_ffffn), Number(h >> 32n)]));
  const event = { ...body } as KvEvent;
  Object.defineProperty(event, BLOCK_HASH_WORDS_PROPERTY, { value: words, enumerable: false });
  Object.defineProperty(event, "blockHashes", {
    enumerable: true,
    get: () => {
      throw new Error("the index read the bigints although packed words were attached");
    },
  });
  return event;
}

test("kv-index - an event carrying packed block-hash words (the bus decoder's fast path) is applied from the words alone", () => {
  const H = 0xfedc_ba98_7654_3210n;
  const index = new KvIndex();
  const resync = index.applyBatch({
    workerId: "w1",
    epoch: 1n,
    firstSeq: 1,
    events: [
      packedEvent({ kind: "stored", seq: 1, component: "k", tier: "device" }, [H, 0n, 2n ** 64n - 1n]),
      packedEvent({ kind: "stored", seq: 2, component: "v", tier: "device" }, [H, 0n]),
      packedEvent({ kind: "moved", seq: 3, component: "v", fromTier: "device", toTier: "host" }, [0n]),
      packedEvent({ kind: "removed", seq: 4, component: "k", tier: "device" }, [2n ** 64n - 1n]),
    ],
  });
  assert.equal(resync, null);
  assert.deepEqual(index.residency("w1"), [
    { component: "k", tier: "device", blockHashes: [0n, H] },
    { component: "v", tier: "device", blockHashes: [H] },
    { component: "v", tier: "host", blockHashes: [0n] },
  ]);
  assert.deepEqual(index.overlap([H, 0n]).get("w1"), { matchedBlocks: 2, deviceBlocks: 1, hostBlocks: 1, kDeviceVHostBlocks: 1, speculativeBlocks: 0 });
  assert.equal(BLOCK_HASH_WORDS_PROPERTY, "blockHashWords", "the name @sigmaserve/coord's kv-event-batch-reader.ts attaches");
});
