/**
 * The only KV-event codec: @sigmaserve/kvcache's event and snapshot types
 * (what the worker's log emits and the router's index consumes) to and from
 * the protobuf messages of coord.proto (what travels on the bus). The two
 * mirror each other field by field, with two differences the codec bridges:
 * - seqs: a kvcache event carries its own `seq`; the proto carries the batch's
 *   `first_seq` and numbers events by position (event i has first_seq + i), so
 *   the encoder refuses a batch whose seqs do not run that way;
 * - `published_at_unix_ms` exists only on the wire (the bus stamps it).
 *
 * Decoding is exact or it fails: an event whose kind is unset or unknown (a
 * newer worker's oneof field), an UNSPECIFIED or unknown component or tier, a
 * seq beyond 2^53 or a worker id other than the sender's is a KvDecodeError
 * naming the field. NOTE: there is no default to fall back on. Reading an
 * unknown event as `cleared` would wipe a worker's index entries, and reading
 * an unknown component as V would invent residency; the answer to a message
 * we cannot read is a resync (a snapshot), which the subscriber decides.
 */
import { create, type Message } from "@bufbuild/protobuf";
import type { KvEvent, KvEventBatch, KvSnapshot } from "@sigmaserve/kvcache/events";
import { coordv1, type kvv1 } from "@sigmaserve/proto";
import type { KvSnapshotPage } from "../coord-bus.js";
import { CoordArgumentError, KvDecodeError } from "../errors.js";
import { kvComponentFromProto, kvComponentToProto, kvTierFromProto, kvTierToProto, type KvComponent, type KvTier } from "./kv-proto-enums.js";

/** Where a received message came from: its subject and the worker that subject names. */
export interface KvMessageSource {
  subject: string;
  workerId: string;
}

/** A kvcache batch as a KvEventBatch message, stamped `publishedAtUnixMs`. Throws CoordArgumentError for a batch whose seqs do not run firstSeq, firstSeq + 1, … */
export function encodeKvEventBatch(batch: KvEventBatch, publishedAtUnixMs: bigint): coordv1.KvEventBatch {
  checkSeq("batch.firstSeq", batch.firstSeq);
  const events = batch.events.map((event, i) => {
    if (event.seq !== batch.firstSeq + i) {
      throw new CoordArgumentError(`batch.events[${i}].seq`, `must be firstSeq + ${i} = ${batch.firstSeq + i}, got ${String(event.seq)}`);
    }
    return encodeEvent(event, `batch.events[${i}]`);
  });
  return create(coordv1.KvEventBatchSchema, {
    workerId: batch.workerId,
    epoch: batch.epoch,
    firstSeq: BigInt(batch.firstSeq),
    events,
    publishedAtUnixMs,
  });
}

/** The kvcache batch a KvEventBatch message holds; throws KvDecodeError unless every field reads exactly. */
export function decodeKvEventBatch(message: coordv1.KvEventBatch, from: KvMessageSource): KvEventBatch {
  const fail = failer(from, message.epoch);
  if (message.workerId !== from.workerId) fail("workerId", `is ${JSON.stringify(message.workerId)}, but the message came on ${from.workerId}'s subject`);
  const firstSeq = seqFrom(message.firstSeq, "firstSeq", fail);
  seqFrom(message.firstSeq + BigInt(Math.max(0, message.events.length - 1)), "firstSeq + events.length - 1", fail);
  const events = message.events.map((event, i) => decodeEvent(event, firstSeq + i, `events[${i}]`, fail));
  return { workerId: message.workerId, epoch: message.epoch, firstSeq, events };
}

/** One snapshot page and its continuation as a KvSnapshotResponse message. */
export function encodeKvSnapshotPage({ page, nextPageToken }: KvSnapshotPage): coordv1.KvSnapshotResponse {
  checkSeq("page.asOfSeq", page.asOfSeq);
  return create(coordv1.KvSnapshotResponseSchema, {
    workerId: page.workerId,
    epoch: page.epoch,
    asOfSeq: BigInt(page.asOfSeq),
    residency: page.residency.map((group, i) => ({
      component: kvComponentToProto(group.component, `page.residency[${i}].component`),
      tier: kvTierToProto(group.tier, `page.residency[${i}].tier`),
      blockHashes: group.blockHashes,
    })),
    nextPageToken,
  });
}

/** The snapshot page a KvSnapshotResponse holds; throws KvDecodeError unless every field reads exactly. */
export function decodeKvSnapshotPage(message: coordv1.KvSnapshotResponse, from: KvMessageSource): KvSnapshotPage {
  const fail = failer(from, message.epoch);
  if (message.workerId !== from.workerId) fail("workerId", `is ${JSON.stringify(message.workerId)}, but the snapshot was asked of ${from.workerId}`);
  const residency: KvSnapshot["residency"] = message.residency.map((group, i) => ({
    component: componentFrom(group.component, `residency[${i}].component`, fail),
    tier: tierFrom(group.tier, `residency[${i}].tier`, fail),
    blockHashes: group.blockHashes,
  }));
  const page: KvSnapshot = { workerId: message.workerId, epoch: message.epoch, asOfSeq: seqFrom(message.asOfSeq, "asOfSeq", fail), residency };
  return { page, nextPageToken: message.nextPageToken };
}

function encodeEvent(event: KvEvent, path: string): coordv1.KvEvent {
  switch (event.kind) {
    case "stored":
      return create(coordv1.KvEventSchema, {
        kind: {
          case: "stored",
          value: {
            component: kvComponentToProto(event.component, `${path}.component`),
            tier: kvTierToProto(event.tier, `${path}.tier`),
            blockHashes: event.blockHashes,
            ...(event.parentBlockHash === undefined ? {} : { parentBlockHash: event.parentBlockHash }),
          },
        },
      });
    case "removed":
      return create(coordv1.KvEventSchema, {
        kind: {
          case: "removed",
          value: { component: kvComponentToProto(event.component, `${path}.component`), tier: kvTierToProto(event.tier, `${path}.tier`), blockHashes: event.blockHashes },
        },
      });
    case "moved":
      return create(coordv1.KvEventSchema, {
        kind: {
          case: "moved",
          value: {
            component: kvComponentToProto(event.component, `${path}.component`),
            fromTier: kvTierToProto(event.fromTier, `${path}.fromTier`),
            toTier: kvTierToProto(event.toTier, `${path}.toTier`),
            blockHashes: event.blockHashes,
          },
        },
      });
    case "cleared":
      return create(coordv1.KvEventSchema, { kind: { case: "cleared", value: {} } });
    default:
      throw new CoordArgumentError(`${path}.kind`, `must be stored, removed, moved or cleared, got ${JSON.stringify((event as { kind: unknown }).kind)}`);
  }
}

function decodeEvent(event: coordv1.KvEvent, seq: number, path: string, fail: Fail): KvEvent {
  const kind = event.kind;
  switch (kind.case) {
    case "stored": {
      const { component, tier, blockHashes, parentBlockHash } = kind.value;
      return {
        kind: "stored",
        seq,
        component: componentFrom(component, `${path}.stored.component`, fail),
        tier: tierFrom(tier, `${path}.stored.tier`, fail),
        blockHashes,
        ...(parentBlockHash === undefined ? {} : { parentBlockHash }),
      };
    }
    case "removed": {
      const { component, tier, blockHashes } = kind.value;
      return { kind: "removed", seq, component: componentFrom(component, `${path}.removed.component`, fail), tier: tierFrom(tier, `${path}.removed.tier`, fail), blockHashes };
    }
    case "moved": {
      const { component, fromTier, toTier, blockHashes } = kind.value;
      return {
        kind: "moved",
        seq,
        component: componentFrom(component, `${path}.moved.component`, fail),
        fromTier: tierFrom(fromTier, `${path}.moved.fromTier`, fail),
        toTier: tierFrom(toTier, `${path}.moved.toTier`, fail),
        blockHashes,
      };
    }
    case "cleared":
      return { kind: "cleared", seq };
    default:
      return fail(`${path}.kind`, describeMissingKind(event));
  }
}

/** Why an event has no kind this build knows: a field of a newer proto (by number), or nothing set at all. */
function describeMissingKind(event: Message): string {
  const unknown = (event.$unknown ?? []).map((field) => field.no);
  return unknown.length > 0
    ? `unknown event kind (field ${[...new Set(unknown)].join(", ")}; a newer worker?)`
    : "no event kind set";
}

export type Fail = (field: string, problem: string) => never;

export function failer(from: KvMessageSource, epoch: bigint): Fail {
  return (field, problem) => {
    throw new KvDecodeError({ subject: from.subject, workerId: from.workerId, epoch, field }, problem);
  };
}

export function componentFrom(value: kvv1.KvComponent, field: string, fail: Fail): KvComponent {
  return kvComponentFromProto(value) ?? fail(field, value === 0 ? "KV_COMPONENT_UNSPECIFIED" : `unknown component ${value}`);
}

export function tierFrom(value: kvv1.KvTier, field: string, fail: Fail): KvTier {
  return kvTierFromProto(value) ?? fail(field, value === 0 ? "KV_TIER_UNSPECIFIED" : `unknown tier ${value}`);
}

export function seqFrom(value: bigint, field: string, fail: Fail): number {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : fail(field, `${value} is beyond 2^53 - 1`);
}

function checkSeq(field: string, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new CoordArgumentError(field, `must be a non-negative safe integer, got ${String(seq)}`);
}
