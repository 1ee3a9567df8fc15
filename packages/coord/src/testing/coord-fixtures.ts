/**
 * Literal messages for the scenario tests: a full WorkerInfo (every field set,
 * so a decoding slip shows), a WorkerLoad, and KV-event batches (kvcache's
 * types, as the bus takes them) holding every kind of event with 64-bit
 * hashes that do not fit a double.
 */
import { create } from "@bufbuild/protobuf";
import type { KvEvent, KvEventBatch } from "@sigmaserve/kvcache/events";
import { coordv1, kvv1 } from "@sigmaserve/proto";

let nextId = 0;

/** A worker id no other scenario uses (the NATS scenarios share one bucket). */
export function uniqueWorkerId(label: string): string {
  nextId += 1;
  return `${label}-${process.pid}-${nextId}`;
}

export function workerInfo(workerId: string, epoch = 0x1234_5678_9abc_def0n): coordv1.WorkerInfo {
  return create(coordv1.WorkerInfoSchema, {
    workerId,
    epoch,
    grpcAddress: "10.0.0.7:50051",
    model: {
      id: "sigma-tiny",
      numLayers: 4,
      hiddenSize: 256,
      numQueryHeads: 8,
      numKeyHeads: 1,
      numValueHeads: 4,
      headDim: 32,
      augQSize: 384,
      vocabSize: 512,
      maxContextTokens: 4096,
      tokenizer: "byte",
    },
    kvHash: { algorithm: "sha256-trunc64", seed: 0xfeed_beef_dead_c0den, blockSizeTokens: 16 },
    kvDtype: kvv1.KvDtype.F16,
    kvCapacity: [
      { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, numBlocks: 4096, blockBytes: 8192n },
      { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, numBlocks: 16384, blockBytes: 32768n },
    ],
    selectiveVTopk: 64,
    maxBatchTokens: 2048,
    version: "0.1.0",
    startedAtUnixMs: 1_760_000_000_123n,
    labels: { zone: "a", gpu: "h200" },
  });
}

export function workerLoad(workerId: string, runningRequests: number): coordv1.WorkerLoad {
  return create(coordv1.WorkerLoadSchema, {
    workerId,
    epoch: 0x1234_5678_9abc_def0n,
    state: coordv1.WorkerState.READY,
    runningRequests,
    waitingRequests: 2,
    kvUsage: [{ component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, usedBlocks: 10, cachedFreeBlocks: 3, totalBlocks: 100 }],
    lastKvEventSeq: 41n,
    activeBlocks: 7,
    preemptionsTotal: 1n,
    measuredAtUnixMs: 1_760_000_000_456n,
  });
}

/**
 * Batch number `index` of `workerId`: four events (stored with a parent, stored
 * as a chain root, moved, removed), or a `cleared` every tenth, with 64-bit
 * hashes above 2^63 that a double would round.
 */
export function kvEventBatch(workerId: string, index: number): KvEventBatch {
  const hash = (n: number) => 0xf000_0000_0000_0000n + BigInt(index * 100 + n);
  const firstSeq = index * 4 + 1;
  const events: KvEvent[] =
    index % 10 === 9
      ? [{ kind: "cleared", seq: firstSeq }]
      : [
          { kind: "stored", seq: firstSeq, component: "k", tier: "device", blockHashes: [hash(1), hash(2)], parentBlockHash: hash(0) },
          { kind: "stored", seq: firstSeq + 1, component: "v", tier: "host", blockHashes: [hash(3)] },
          { kind: "moved", seq: firstSeq + 2, component: "v", fromTier: "device", toTier: "host", blockHashes: [hash(1)] },
          { kind: "removed", seq: firstSeq + 3, component: "v", tier: "host", blockHashes: [hash(2)] },
        ];
  return { workerId, epoch: 7n, firstSeq, events };
}

/** The firstSeq of batch `index` of kvEventBatch(). */
export function kvEventBatchFirstSeq(index: number): number {
  return index * 4 + 1;
}

/** A batch whose encoding is larger than `minBytes` (one stored event, 8 bytes per hash). */
export function oversizeKvEventBatch(workerId: string, minBytes: number): KvEventBatch {
  const count = Math.ceil(minBytes / 8) + 16;
  const blockHashes = Array.from({ length: count }, (_, i) => 0x8000_0000_0000_0000n + BigInt(i));
  return { workerId, epoch: 7n, firstSeq: 1, events: [{ kind: "stored", seq: 1, component: "k", tier: "device", blockHashes }] };
}
