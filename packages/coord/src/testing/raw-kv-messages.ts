/**
 * KV-event messages written byte by byte with the protobuf wire writer, not
 * with the generated schemas: an independent oracle for the decoder, and the
 * only way to write what our encoder refuses to (an event kind from a newer
 * proto, an UNSPECIFIED or unknown component or tier). Field numbers are
 * those of coord.proto.
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

export interface RawBatchHeader {
  workerId: string;
  epoch: bigint;
  firstSeq: bigint;
}

/** A KvEventBatch: worker_id = 1, epoch = 2, first_seq = 3, events = 4 (each an encoded KvEvent). */
export function rawKvEventBatch(header: RawBatchHeader, events: readonly Uint8Array[]): Uint8Array {
  const writer = new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string(header.workerId)
    .tag(2, WireType.Varint)
    .uint64(header.epoch)
    .tag(3, WireType.Varint)
    .uint64(header.firstSeq);
  for (const event of events) writer.tag(4, WireType.LengthDelimited).bytes(event);
  return writer.finish();
}

/** A KvEvent whose only field is number `fieldNo` (5 and up are unknown to this build): a kind from a newer proto. */
export function rawUnknownKindEvent(fieldNo: number): Uint8Array {
  // The payload looks like a KvBlocksStored (component K, one hash), as a newer kind plausibly would.
  const payload = new BinaryWriter().tag(1, WireType.Varint).int32(1).tag(3, WireType.LengthDelimited).bytes(packedFixed64([42n])).finish();
  return new BinaryWriter().tag(fieldNo, WireType.LengthDelimited).bytes(payload).finish();
}

/** A KvEvent with `stored` (1) set: component = 1, tier = 2, block_hashes = 3 (packed fixed64). */
export function rawStoredEvent(component: number, tier: number, blockHashes: readonly bigint[]): Uint8Array {
  const stored = new BinaryWriter()
    .tag(1, WireType.Varint)
    .int32(component)
    .tag(2, WireType.Varint)
    .int32(tier)
    .tag(3, WireType.LengthDelimited)
    .bytes(packedFixed64(blockHashes))
    .finish();
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(stored).finish();
}

/** A KvEvent with `moved` (3) set: component = 1, from_tier = 2, to_tier = 3, block_hashes = 4. */
export function rawMovedEvent(component: number, fromTier: number, toTier: number, blockHashes: readonly bigint[]): Uint8Array {
  const moved = new BinaryWriter()
    .tag(1, WireType.Varint)
    .int32(component)
    .tag(2, WireType.Varint)
    .int32(fromTier)
    .tag(3, WireType.Varint)
    .int32(toTier)
    .tag(4, WireType.LengthDelimited)
    .bytes(packedFixed64(blockHashes))
    .finish();
  return new BinaryWriter().tag(3, WireType.LengthDelimited).bytes(moved).finish();
}

/** A KvEvent with `cleared` (4) set. */
export function rawClearedEvent(): Uint8Array {
  return new BinaryWriter().tag(4, WireType.LengthDelimited).bytes(new Uint8Array(0)).finish();
}

/** A KvEvent with no field at all. */
export function rawEmptyEvent(): Uint8Array {
  return new Uint8Array(0);
}

function packedFixed64(values: readonly bigint[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const value of values) writer.fixed64(value);
  return writer.finish();
}
