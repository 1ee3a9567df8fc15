/**
 * Literal messages for the scenario tests: a full WorkerInfo (every field set,
 * so a decoding slip shows), a WorkerLoad, and KV-event batches holding every
 * kind of event with 64-bit hashes that do not fit a double.
 */
import { create } from "@bufbuild/protobuf";
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

/** Batch number `index` of `workerId`: three events (stored, moved, removed), or a `cleared` every tenth. */
export function kvEventBatch(workerId: string, index: number): coordv1.KvEventBatch {
  const hash = (n: number) => 0xf000_0000_0000_0000n + BigInt(index * 100 + n);
  const events: coordv1.KvEventBatch["events"] =
    index % 10 === 9
      ? [create(coordv1.KvEventSchema, { kind: { case: "cleared", value: {} } })]
      : [
          create(coordv1.KvEventSchema, {
            kind: {
              case: "stored",
              value: { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, blockHashes: [hash(1), hash(2)], parentBlockHash: hash(0) },
            },
          }),
          create(coordv1.KvEventSchema, {
            kind: {
              case: "moved",
              value: { component: kvv1.KvComponent.V, fromTier: kvv1.KvTier.DEVICE, toTier: kvv1.KvTier.HOST, blockHashes: [hash(1)] },
            },
          }),
          create(coordv1.KvEventSchema, {
            kind: { case: "removed", value: { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, blockHashes: [hash(2)] } },
          }),
        ];
  return create(coordv1.KvEventBatchSchema, {
    workerId,
    epoch: 7n,
    firstSeq: BigInt(index * 3 + 1),
    events,
    publishedAtUnixMs: 1_760_000_000_000n + BigInt(index),
  });
}

/** A batch whose encoding is larger than `minBytes` (one stored event, 8 bytes per hash). */
export function oversizeKvEventBatch(workerId: string, minBytes: number): coordv1.KvEventBatch {
  const count = Math.ceil(minBytes / 8) + 16;
  const blockHashes = Array.from({ length: count }, (_, i) => 0x8000_0000_0000_0000n + BigInt(i));
  return create(coordv1.KvEventBatchSchema, {
    workerId,
    epoch: 7n,
    firstSeq: 1n,
    events: [create(coordv1.KvEventSchema, { kind: { case: "stored", value: { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, blockHashes } } })],
  });
}
