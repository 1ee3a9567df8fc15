/**
 * The router's fast path from KvEventBatch bytes to a kvcache batch. The
 * generated decoder (`fromBinary`) makes a BigInt per packed fixed64 block
 * hash, several allocations each; at a 1,000-worker cluster's event rate that
 * alone is most of an event's cost. This reader walks the wire itself and
 * copies each event's packed `block_hashes` bytes into a Uint32Array (lo, hi
 * per hash: fixed64 is little-endian, so the words are the bytes), attached
 * to the event as the non-enumerable `blockHashWords`, which the router's KV
 * index consumes directly. `blockHashes` stays an ordinary-looking array
 * property, materialised from the words on first read, so every other
 * consumer (and deepEqual) sees exactly what `decodeKvEventBatch` returns.
 *
 * NOTE: exactness first. The reader handles the canonical encoding (what
 * our encoder writes: each field once, hashes packed in one run, no unknown
 * field inside an event) and hands anything else (a duplicate or unknown
 * field in an event, unpacked hashes, truncated bytes, a big-endian host)
 * to `fromBinary` + `decodeKvEventBatch`, so a message decodes, or fails
 * with the same KvDecodeError, either way. The checks on what was read (the
 * worker id, seqs, enums) are the codec's own functions.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { KvEvent, KvEventBatch } from "@sigmaserve/kvcache/events";
import { coordv1, type kvv1 } from "@sigmaserve/proto";
import { type KvMessageSource, componentFrom, decodeKvEventBatch, failer, seqFrom, tierFrom } from "./kv-event-codec.js";

/** The property the router's KV index reads packed hashes from (kv-index's block-hash-words.ts; the name is the contract). */
export const BLOCK_HASH_WORDS_PROPERTY = "blockHashWords";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const EMPTY_WORDS = new Uint32Array(0);

/** An event as read off the wire, before its fields are checked. */
interface RawEvent {
  /** 1 stored, 2 removed, 3 moved, 4 cleared (the oneof's field numbers). */
  kind: number;
  component: number;
  tier: number;
  toTier: number;
  /** Where the packed hashes lie in the message, bytes (0, 0 for none). */
  hashesStart: number;
  hashesLength: number;
  /** A view of the batch's one word buffer, set once every event is read. */
  words: Uint32Array;
  parent: bigint | undefined;
}

interface RawBatch {
  workerId: string;
  epoch: bigint;
  firstSeq: bigint;
  events: RawEvent[];
}

/** The kvcache batch in `bytes` (a KvEventBatch message), hashes kept packed; throws KvDecodeError as `decodeKvEventBatch(fromBinary(…))` would. */
export function readKvEventBatch(bytes: Uint8Array, from: KvMessageSource): KvEventBatch {
  const raw = LITTLE_ENDIAN ? readCanonical(bytes) : undefined;
  if (raw === undefined) return decodeKvEventBatch(fromBinary(coordv1.KvEventBatchSchema, bytes), from);
  const fail = failer(from, raw.epoch);
  if (raw.workerId !== from.workerId) fail("workerId", `is ${JSON.stringify(raw.workerId)}, but the message came on ${from.workerId}'s subject`);
  const firstSeq = seqFrom(raw.firstSeq, "firstSeq", fail);
  seqFrom(raw.firstSeq + BigInt(Math.max(0, raw.events.length - 1)), "firstSeq + events.length - 1", fail);
  const events = raw.events.map((event, i): KvEvent => {
    const seq = firstSeq + i;
    const path = `events[${i}]`;
    switch (event.kind) {
      case 1: {
        const stored = { kind: "stored" as const, seq, component: componentFrom(event.component as kvv1.KvComponent, `${path}.stored.component`, fail), tier: tierFrom(event.tier as kvv1.KvTier, `${path}.stored.tier`, fail) };
        return withWords(event.parent === undefined ? stored : { ...stored, parentBlockHash: event.parent }, event.words);
      }
      case 2:
        return withWords({ kind: "removed" as const, seq, component: componentFrom(event.component as kvv1.KvComponent, `${path}.removed.component`, fail), tier: tierFrom(event.tier as kvv1.KvTier, `${path}.removed.tier`, fail) }, event.words);
      case 3:
        return withWords(
          {
            kind: "moved" as const,
            seq,
            component: componentFrom(event.component as kvv1.KvComponent, `${path}.moved.component`, fail),
            fromTier: tierFrom(event.tier as kvv1.KvTier, `${path}.moved.fromTier`, fail),
            toTier: tierFrom(event.toTier as kvv1.KvTier, `${path}.moved.toTier`, fail),
          },
          event.words,
        );
      default:
        return { kind: "cleared", seq };
    }
  });
  return { workerId: raw.workerId, epoch: raw.epoch, firstSeq, events };
}

/** The packed words `readKvEventBatch` attached to an event, if it did. */
export function blockHashWordsOf(event: object): Uint32Array | undefined {
  const words = (event as { [BLOCK_HASH_WORDS_PROPERTY]?: unknown })[BLOCK_HASH_WORDS_PROPERTY];
  return words instanceof Uint32Array ? words : undefined;
}

/**
 * `body` with `blockHashes` as an enumerable accessor that builds the bigints
 * from `words` once, on first read (assigning it replaces both), and the
 * words as the non-enumerable `blockHashWords`.
 */
function withWords<T extends object>(body: T, words: Uint32Array): T & { blockHashes: bigint[] } {
  let hashes: bigint[] | undefined;
  Object.defineProperty(body, BLOCK_HASH_WORDS_PROPERTY, { value: words, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(body, "blockHashes", {
    enumerable: true,
    configurable: true,
    get: () => (hashes ??= Array.from(new BigUint64Array(words.buffer, words.byteOffset, words.length >>> 1))),
    set: (value: bigint[]) => {
      Object.defineProperty(body, "blockHashes", { value, enumerable: true, writable: true, configurable: true });
      Object.defineProperty(body, BLOCK_HASH_WORDS_PROPERTY, { value: undefined });
    },
  });
  return body as T & { blockHashes: bigint[] };
}

/** The batch's fields as read, or undefined for anything but the canonical encoding (see the NOTE above). */
function readCanonical(bytes: Uint8Array): RawBatch | undefined {
  try {
    const reader = new BinaryReader(bytes);
    const raw: RawBatch = { workerId: "", epoch: 0n, firstSeq: 0n, events: [] };
    let seen = 0;
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      const bit = 1 << field;
      if (field <= 3 || field === 5) {
        if ((seen & bit) !== 0) return undefined;
        seen |= bit;
      }
      if (field === 1 && wireType === WireType.LengthDelimited) raw.workerId = reader.string();
      else if (field === 2 && wireType === WireType.Varint) raw.epoch = reader.uint64() as bigint;
      else if (field === 3 && wireType === WireType.Varint) raw.firstSeq = reader.uint64() as bigint;
      else if (field === 4 && wireType === WireType.LengthDelimited) {
        const length = reader.uint32();
        const event = readEvent(bytes, reader.pos, length);
        if (event === undefined) return undefined;
        reader.pos += length;
        raw.events.push(event);
      } else if (field === 5 && wireType === WireType.Varint) reader.skip(wireType, field);
      else if (field <= 5) return undefined;
      else reader.skip(wireType, field);
    }
    if (reader.pos !== reader.len) return undefined;
    // NOTE: a replacement character means invalid UTF-8, which the generated decoder may treat differently.
    if (raw.workerId.includes("\ufffd")) return undefined;
    attachWordViews(bytes, raw.events);
    return raw;
  } catch {
    return undefined;
  }
}

/**
 * Copies each event's packed hashes into words taken from an arena and
 * gives the event its view. NOTE: an arena, because a typed array's backing
 * store lives outside the heap and costs an allocation and a collector
 * sweep each: one per event made the collector a third of the decode. A
 * view keeps its whole arena alive (ARENA_WORDS × 4 B) for as long as it
 * lives, which is until the consumer (the index) has applied the batch.
 */
function attachWordViews(bytes: Uint8Array, events: RawEvent[]): void {
  for (const event of events) {
    if (event.hashesLength === 0) continue;
    const count = event.hashesLength >>> 2;
    if (count > ARENA_WORDS >>> 2) {
      event.words = new Uint32Array(count);
      new Uint8Array(event.words.buffer).set(bytes.subarray(event.hashesStart, event.hashesStart + event.hashesLength));
      continue;
    }
    if (arenaUsed + count > ARENA_WORDS) {
      arena = new Uint32Array(ARENA_WORDS);
      arenaBytes = new Uint8Array(arena.buffer);
      arenaUsed = 0;
    }
    arenaBytes.set(bytes.subarray(event.hashesStart, event.hashesStart + event.hashesLength), arenaUsed * 4);
    event.words = arena.subarray(arenaUsed, arenaUsed + count);
    arenaUsed += count;
  }
}

/** Words per arena (1 MiB); an event of more than a quarter of it gets its own buffer. */
const ARENA_WORDS = 1 << 18;
let arena = new Uint32Array(ARENA_WORDS);
let arenaBytes = new Uint8Array(arena.buffer);
let arenaUsed = 0;

/** The read position of readEvent's varint helpers (module state: the reader is synchronous and not re-entered). */
let pos = 0;

/** A varint's low 32 bits (as int32 with `| 0`, uint32 with `>>> 0`); throws past `end` or beyond 10 bytes. */
function varint32(bytes: Uint8Array, end: number): number {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new RangeError("varint past the end");
    const byte = bytes[pos++]!;
    if (i < 5) value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw new RangeError("varint longer than 10 bytes");
}

/** The KvEvent at bytes[start, start + length): exactly one kind field, each sub-field at most once, hashes packed (cleared: empty). */
function readEvent(bytes: Uint8Array, start: number, length: number): RawEvent | undefined {
  const end = start + length;
  pos = start;
  if (pos >= end) return undefined;
  const kindTag = varint32(bytes, end) >>> 0;
  const kind = kindTag >>> 3;
  if (kind < 1 || kind > 4 || (kindTag & 7) !== WireType.LengthDelimited) return undefined;
  const bodyLength = varint32(bytes, end) >>> 0;
  if (pos + bodyLength !== end) return undefined;
  const event: RawEvent = { kind, component: 0, tier: 0, toTier: 0, hashesStart: 0, hashesLength: 0, words: EMPTY_WORDS, parent: undefined };
  if (kind === 4) return bodyLength === 0 ? event : undefined;
  // Field numbers of KvBlocksStored / Removed (1 component, 2 tier, 3 hashes, 4 parent) and Moved (1, 2 from, 3 to, 4 hashes).
  const hashesField = kind === 3 ? 4 : 3;
  let seen = 0;
  while (pos < end) {
    const tag = varint32(bytes, end) >>> 0;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field < 1 || field > 4 || (seen & (1 << field)) !== 0) return undefined;
    seen |= 1 << field;
    if (field === hashesField) {
      if (wireType !== WireType.LengthDelimited) return undefined;
      const hashesLength = varint32(bytes, end) >>> 0;
      if (hashesLength % 8 !== 0 || pos + hashesLength > end) return undefined;
      event.hashesStart = pos;
      event.hashesLength = hashesLength;
      pos += hashesLength;
    } else if (wireType === WireType.Varint && field <= 3) {
      const value = varint32(bytes, end) | 0;
      if (field === 1) event.component = value;
      else if (field === 2) event.tier = value;
      else event.toTier = value;
    } else if (kind === 1 && field === 4 && wireType === WireType.Bit64) {
      if (pos + 8 > end) return undefined;
      const lo = (bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 24)) >>> 0;
      const hi = (bytes[pos + 4]! | (bytes[pos + 5]! << 8) | (bytes[pos + 6]! << 16) | (bytes[pos + 7]! << 24)) >>> 0;
      event.parent = (BigInt(hi) << 32n) | BigInt(lo);
      pos += 8;
    } else return undefined;
  }
  return event;
}
