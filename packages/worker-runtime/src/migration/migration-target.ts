/**
 * The target side of a migration. An offer (migrate.offer) is checked (model,
 * hash spec, components, room, draining) and answered with the offered hashes
 * this worker lacks; then the target pulls exactly those from the source with
 * ExportKv (K frames first), imports each frame as it lands (a block is
 * registered, and announced to the router through the KV events, once both of
 * its halves passed their checksums), and reports migrate.done to the source.
 *
 * Nothing unverified is kept: a refused block (bad checksum, not asked for,
 * wrong shape) is counted and logged with the migration id, and if the pull
 * breaks half-way (the source died, its lease expired) every block allocated
 * for it and not complete is freed; the complete ones stay as valid cache.
 */
import { create } from "@bufbuild/protobuf";
import { kvComponentFromProto, type CoordBus } from "@sigmaserve/coord";
import { KvTransferError, formatBlockHash, type BlockHash, type KvCacheManager, type KvComponent, type KvHashSpec } from "@sigmaserve/kvcache";
import { coordv1, createGrpcClient, kvv1, messageSizeOptions, workerv1, type ChannelSecurity } from "@sigmaserve/proto";
import type { Logger } from "pino";
import { Ewma } from "../measure/ewma.js";
import type { KvTransferMeter } from "../metrics/kv-transfer-meter.js";
import { SpanKind, SpanStatusCode, extractTraceContext, trace, type Span } from "@sigmaserve/telemetry";

const tracer = trace.getTracer("sigmaserve-worker");

/** Largest ExportKv frame a target asks for, bytes (the gRPC channel's message limit must exceed it). */
export const DEFAULT_MIGRATION_FRAME_BYTES = 4 * 2 ** 20;
/** HTTP/2 receive window of the pull's channel, bytes: four default frames in flight. */
export const MIGRATION_FLOW_CONTROL_WINDOW_BYTES = 16 * 2 ** 20;

export interface MigrationTargetDeps {
  workerId: string;
  modelId: string;
  kvHash: KvHashSpec;
  kv: Pick<KvCacheManager, "holds" | "beginImport" | "usage">;
  bus: Pick<CoordBus, "reportMigrationDone">;
  isDraining: () => boolean;
  logger: Logger;
  maxFrameBytes?: number;
  /** gRPC message limit of the client to the source, bytes. */
  maxMessageBytes?: number;
  /** Test hook: sees (and may damage) each frame's payload as it arrives, before it is verified. */
  onFrameReceived?: (payload: Uint8Array, migrationId: string) => void;
  /** Where bytes received and pulls ended are counted (the worker's metrics). */
  meter?: KvTransferMeter;
  /** How the pull dials the source: mutual TLS with this worker's certificate (--tls-*); plaintext without. */
  peerSecurity?: ChannelSecurity | undefined;
}

/** Counters of the migrations this worker pulled (exported as metrics by the worker). */
export interface MigrationTargetStats {
  offersAccepted: number;
  offersRefused: number;
  pullsCompleted: number;
  pullsFailed: number;
  blocksImported: number;
  blocksRefused: number;
  bytesReceived: number;
}

export class MigrationTarget {
  /** Payload bytes per second of recent pulls, handshake included (0 before the first). */
  readonly bandwidth = new Ewma();
  readonly stats: MigrationTargetStats = { offersAccepted: 0, offersRefused: 0, pullsCompleted: 0, pullsFailed: 0, blocksImported: 0, blocksRefused: 0, bytesReceived: 0 };
  /** Pulls under way, so a test or a drain can wait for them. */
  private readonly pulls = new Set<Promise<void>>();

  constructor(private readonly deps: MigrationTargetDeps) {}

  /**
   * migrate.offer: refuse with a reason, or accept with the hashes wanted (and start pulling them). The pull
   * is a `migration.pull` span under the offer's, whose context came in the offer's `headers`.
   */
  async onOffer(offer: coordv1.MigrationOffer, headers: Readonly<Record<string, string>> = {}): Promise<coordv1.MigrationReply> {
    // A block this worker already holds is skipped.
    const wanted = offer.blocks.map((b) => b.blockHash).filter((hash) => !this.deps.kv.holds(hash));
    const reason = this.refusal(offer, wanted.length);
    if (reason !== null) {
      this.stats.offersRefused++;
      this.deps.logger.info({ migrationId: offer.migrationId, source: offer.sourceWorkerId, reason }, "migration offer refused");
      return create(coordv1.MigrationReplySchema, { migrationId: offer.migrationId, accepted: false, reason });
    }
    this.stats.offersAccepted++;
    if (wanted.length > 0) {
      const span = tracer.startSpan(
        "migration.pull",
        { kind: SpanKind.CONSUMER, attributes: { "sigmaserve.worker_id": this.deps.workerId, "sigmaserve.migration.id": offer.migrationId, "sigmaserve.migration.source": offer.sourceWorkerId, "sigmaserve.migration.wanted_blocks": wanted.length } },
        extractTraceContext(headers),
      );
      const pull = this.pull(offer, wanted, performance.now(), span).finally(() => this.pulls.delete(pull));
      this.pulls.add(pull);
    }
    return create(coordv1.MigrationReplySchema, { migrationId: offer.migrationId, accepted: true, wantedBlockHashes: wanted });
  }

  /** Resolves when every pull under way has ended. */
  async idle(): Promise<void> {
    while (this.pulls.size > 0) await Promise.allSettled([...this.pulls]);
  }

  /** Why the offer cannot be taken, or null; `lacking`: the offered blocks this worker does not hold. */
  private refusal(offer: coordv1.MigrationOffer, lacking: number): string | null {
    const { deps } = this;
    if (offer.migrationId === "") return "migration_id is empty";
    if (offer.model !== deps.modelId) return `model mismatch: the offer is for "${offer.model}", this worker serves "${deps.modelId}"`;
    const spec = offer.kvHash;
    if (spec === undefined) return "kv_hash is missing: the blocks' hash spec must match this worker's";
    if (spec.algorithm !== deps.kvHash.algorithm || spec.seed !== deps.kvHash.seed) {
      return `hash spec mismatch: the offer uses ${spec.algorithm} seed ${spec.seed}, this worker ${deps.kvHash.algorithm} seed ${deps.kvHash.seed}`;
    }
    if (spec.blockSizeTokens !== deps.kvHash.blockSizeTokens) return `block size mismatch: the offer's blocks hold ${spec.blockSizeTokens} tokens, this worker's ${deps.kvHash.blockSizeTokens}`;
    if (offer.sourceWorkerId === deps.workerId) return "the offer comes from this worker itself";
    if (offer.sourceGrpcAddress === "") return "source_grpc_address is empty: nowhere to pull from";
    if (offer.blocks.length === 0) return "the offer names no blocks";
    const components = new Set(offer.components.map(kvComponentFromProto));
    if (!components.has("k") || !components.has("v") || components.size !== 2) return "components must be K and V: this worker imports both halves of every block";
    if (deps.isDraining()) return "this worker is draining";
    const room = Math.min(...deps.kv.usage().filter((u) => u.tier === "device").map((u) => u.totalBlocks - u.usedBlocks));
    if (lacking > room) return `no room: the offer needs ${lacking} blocks, at most ${room} can be made free here`;
    return null;
  }

  private async pull(offer: coordv1.MigrationOffer, wanted: BlockHash[], acceptedMs: number, span: Span): Promise<void> {
    const { deps } = this;
    const startedMs = performance.now();
    const log = deps.logger.child({ migrationId: offer.migrationId, source: offer.sourceWorkerId });
    const parents = new Map<BlockHash, BlockHash | null>(offer.blocks.map((b) => [b.blockHash, b.parentBlockHash ?? null]));
    const session = deps.kv.beginImport({ parents, expected: new Set(wanted) });
    const client = createGrpcClient(workerv1.WorkerService, offer.sourceGrpcAddress, {
      ...(deps.peerSecurity === undefined ? {} : { credentials: deps.peerSecurity.credentials }),
      channelOptions: {
        ...deps.peerSecurity?.channelOptions,
        ...(deps.maxMessageBytes === undefined ? {} : messageSizeOptions(deps.maxMessageBytes)),
        // HTTP/2's default 64 KiB receive window makes the source wait for a WINDOW_UPDATE every 64 KiB
        // of a multi-MiB frame; a window of a few frames keeps the stream moving.
        "grpc-node.flow_control_window": MIGRATION_FLOW_CONTROL_WINDOW_BYTES,
      },
    });
    let bytesReceived = 0;
    const bytesByComponent: Record<KvComponent, number> = { k: 0, v: 0 };
    let frameRefusals = 0;
    let error = "";
    /** performance.now() when the first K frame and the first V frame arrived (K travels first). */
    let firstK: number | undefined;
    let firstV: number | undefined;
    try {
      const stream = client.exportKv(
        {
          migrationId: offer.migrationId,
          blockHashes: wanted,
          components: [kvv1.KvComponent.K, kvv1.KvComponent.V],
          // Unset: the source's stored bits (bf16 pools ship half of f32's bytes); the session converts if ours differ.
          wireDtype: kvv1.KvDtype.UNSPECIFIED,
          maxFrameBytes: deps.maxFrameBytes ?? DEFAULT_MIGRATION_FRAME_BYTES,
          expectedEpoch: offer.sourceEpoch,
        },
        offer.leaseMs > 0 ? { timeoutMs: offer.leaseMs } : {},
      );
      for await (const message of stream) {
        if (message.event.case !== "frame") continue;
        const frame = message.event.value;
        bytesReceived += frame.payload.byteLength;
        deps.onFrameReceived?.(frame.payload, offer.migrationId);
        const component: KvComponent | undefined = kvComponentFromProto(frame.component);
        if (component !== undefined) {
          deps.meter?.received(component, frame.payload.byteLength);
          bytesByComponent[component] += frame.payload.byteLength;
        }
        if (component === "k") firstK ??= performance.now();
        else if (component === "v") firstV ??= performance.now();
        try {
          const accepted = session.acceptFrame(frame.payload, component);
          for (const { hash, reason } of accepted.refused) log.warn({ block: formatBlockHash(hash), reason }, "migrated block refused; it will be recomputed");
        } catch (err) {
          if (!(err instanceof KvTransferError)) throw err;
          frameRefusals += frame.blocks.length;
          log.warn({ blocks: frame.blocks.length, reason: err.message }, "migrated frame refused; its blocks will be recomputed");
        }
      }
    } catch (err) {
      error = (err as Error).message;
      log.warn({ err: error }, "migration pull failed; what arrived complete is kept, the rest freed");
    } finally {
      client.close();
    }
    const totals = session.finish();
    const refused = totals.refused.length + frameRefusals;
    this.stats.blocksImported += totals.imported.length;
    this.stats.blocksRefused += refused;
    this.stats.bytesReceived += bytesReceived;
    if (error === "") this.stats.pullsCompleted++;
    else this.stats.pullsFailed++;
    // From the offer's arrival: the time a router waits for a pull includes the handshake.
    if (error === "" && bytesReceived > 0) this.bandwidth.add((bytesReceived * 1000) / (performance.now() - acceptedMs));
    const endedMs = performance.now();
    deps.meter?.pullEnded((endedMs - startedMs) / 1000, error === "", { imported: totals.imported.length, refused });
    const done = create(coordv1.MigrationDoneSchema, {
      migrationId: offer.migrationId,
      blocksImported: totals.imported.length,
      blocksRefused: refused,
      bytesReceived: BigInt(bytesReceived),
      durationMs: endedMs - startedMs,
      error,
      // Every K frame is in when the first V frame arrives (the source sends K first).
      kCompleteMs: firstK === undefined ? 0 : (firstV ?? endedMs) - startedMs,
    });
    span.setAttributes({
      "sigmaserve.migration.blocks_imported": totals.imported.length,
      "sigmaserve.migration.blocks_refused": refused,
      "sigmaserve.migration.bytes_k": bytesByComponent.k,
      "sigmaserve.migration.bytes_v": bytesByComponent.v,
      "sigmaserve.migration.duration_ms": done.durationMs,
      "sigmaserve.migration.k_complete_ms": done.kCompleteMs,
    });
    if (error !== "") span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
    log.info(
      { imported: totals.imported.length, refused, present: totals.present.length, noRoom: totals.noRoom.length, bytes: bytesReceived, ms: Math.round(done.durationMs), kMs: Math.round(done.kCompleteMs), error: error || undefined },
      "migration pull ended",
    );
    await deps.bus.reportMigrationDone(offer.sourceWorkerId, done).catch((err: unknown) => log.warn({ err: (err as Error).message }, "migrate.done could not be delivered; the source's lease will time out"));
  }
}
