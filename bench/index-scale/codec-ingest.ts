/**
 * KV event batches through the real codec, as the router receives them. The
 * worker side is a memory CoordBus's `publishKvEvents` (kvcache batch →
 * coordv1.KvEventBatch → bytes); the bytes are captured off the hub once,
 * before any timing. The router side is another memory CoordBus on the same
 * hub with `subscribeKvEvents` (bytes → readKvEventBatch: the packed hashes
 * stay u32 words, no BigInt per hash), feeding `KvIndex.applyBatch` exactly
 * as BusDiscovery.onKvEvents does.
 *
 * A timed round replays captured bytes into the hub and waits until every
 * delivery has run. NOTE: the memory hub copies the bytes per subscriber and
 * delivers on a microtask; both are in every round, so a "decode only" round
 * (same bytes, the index left alone) is timed alternately with the "decode +
 * apply" rounds, and apply's own share is their difference.
 */
import { createMemoryCoordBus, KV_EVENTS_WILDCARD, MemoryCoordHub, type CoordBus, type Subscription } from "@sigmaserve/coord";
import type { KvEventBatch } from "@sigmaserve/kvcache/events";
import type { KvIndex } from "@sigmaserve/kv-index";
import { cpuMs } from "./route-latency.js";

export interface WireBatch {
  subject: string;
  bytes: Uint8Array;
  events: number;
  blockOps: number;
}

export interface IngestCounts {
  batches: number;
  resyncs: number;
  undecodable: number;
}

export class CodecIngest {
  readonly #hub = new MemoryCoordHub();
  readonly #worker: CoordBus = createMemoryCoordBus({ hub: this.#hub });
  readonly #router: CoordBus = createMemoryCoordBus({ hub: this.#hub });
  #subscription: Subscription | undefined;
  #index: KvIndex | null = null;
  readonly counts: IngestCounts = { batches: 0, resyncs: 0, undecodable: 0 };

  /** Subscribes the router side; `index` null = decode only. */
  async start(): Promise<void> {
    this.#subscription = await this.#router.subscribeKvEvents((delivery) => {
      if (delivery.kind === "undecodable") {
        this.counts.undecodable++;
        return;
      }
      this.counts.batches++;
      if (this.#index !== null && this.#index.applyBatch(delivery.batch) !== null) this.counts.resyncs++;
    });
  }

  /** The bytes the worker's bus would put on the wire for each batch (encoded through the real codec, untimed). */
  async encode(batches: readonly KvEventBatch[]): Promise<WireBatch[]> {
    const captured: WireBatch[] = [];
    const capture = this.#hub.subscribe(KV_EVENTS_WILDCARD, (subject, bytes) => {
      const batch = batches[captured.length]!;
      captured.push({ subject, bytes, events: batch.events.length, blockOps: batch.events.reduce((n, e) => n + ("blockHashes" in e ? e.blockHashes.length : 0), 0) });
    });
    const routerWasOn = this.#index;
    this.#index = null;
    try {
      for (const batch of batches) await this.#worker.publishKvEvents(batch);
      await drain();
    } finally {
      await capture.close();
      this.#index = routerWasOn;
    }
    this.counts.batches -= batches.length; // the router side decoded them too; not a measured round
    return captured;
  }

  /** Replays `wire` to the router side; returns wall ms and CPU ms until every delivery ran. `index` null = decode only. */
  async replay(wire: readonly WireBatch[], index: KvIndex | null): Promise<{ wallMs: number; cpuMs: number }> {
    this.#index = index;
    const cpuStart = cpuMs();
    const start = performance.now();
    for (const batch of wire) this.#hub.publish(batch.subject, batch.bytes);
    await drain();
    const wallMs = performance.now() - start;
    const cpu = cpuMs() - cpuStart;
    this.#index = null;
    return { wallMs, cpuMs: cpu };
  }

  async close(): Promise<void> {
    await this.#subscription?.close();
    await this.#worker.close();
    await this.#router.close();
    this.#hub.close();
  }
}

/** Resolves after every queued microtask (the hub's deliveries) has run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
