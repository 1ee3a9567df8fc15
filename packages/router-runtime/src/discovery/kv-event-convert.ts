/**
 * Proto KV events (as they travel on the bus) → the kvcache event types the
 * index consumes. The two mirror each other field by field.
 */
import type { KvEvent, KvEventBatch, KvSnapshot } from "@sigmaserve/kvcache/events";
import { kvv1, type coordv1 } from "@sigmaserve/proto";

const component = (c: kvv1.KvComponent) => (c === kvv1.KvComponent.K ? "k" : "v") as "k" | "v";
const tier = (t: kvv1.KvTier) => (t === kvv1.KvTier.DEVICE ? "device" : "host") as "device" | "host";

export function kvEventBatchFromProto(batch: coordv1.KvEventBatch): KvEventBatch {
  const first = Number(batch.firstSeq);
  const events: KvEvent[] = batch.events.map((event, i) => {
    const seq = first + i;
    switch (event.kind.case) {
      case "stored":
        return {
          kind: "stored",
          seq,
          component: component(event.kind.value.component),
          tier: tier(event.kind.value.tier),
          blockHashes: event.kind.value.blockHashes,
          ...(event.kind.value.parentBlockHash === undefined ? {} : { parentBlockHash: event.kind.value.parentBlockHash }),
        };
      case "removed":
        return { kind: "removed", seq, component: component(event.kind.value.component), tier: tier(event.kind.value.tier), blockHashes: event.kind.value.blockHashes };
      case "moved":
        return {
          kind: "moved",
          seq,
          component: component(event.kind.value.component),
          fromTier: tier(event.kind.value.fromTier),
          toTier: tier(event.kind.value.toTier),
          blockHashes: event.kind.value.blockHashes,
        };
      default:
        return { kind: "cleared", seq };
    }
  });
  return { workerId: batch.workerId, epoch: batch.epoch, firstSeq: first, events };
}

export function kvSnapshotFromProto(pages: readonly coordv1.KvSnapshotResponse[]): KvSnapshot {
  const first = pages[0]!;
  return {
    workerId: first.workerId,
    epoch: first.epoch,
    asOfSeq: Number(first.asOfSeq),
    residency: pages.flatMap((page) => page.residency.map((group) => ({ component: component(group.component), tier: tier(group.tier), blockHashes: group.blockHashes }))),
  };
}
