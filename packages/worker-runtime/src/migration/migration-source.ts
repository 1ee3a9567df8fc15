/**
 * The source side of a migration: pin a chain of cached blocks under a lease,
 * offer it to a target over the bus (migrate.offer), let the target pull what
 * it lacks with ExportKv, and learn the outcome from its migrate.done. The
 * lease ends at done, at a refusal, when the offer cannot be delivered, or
 * after `leaseMs`, whichever comes first; the blocks are then evictable again.
 */
import { create } from "@bufbuild/protobuf";
import { kvComponentToProto, type CoordBus } from "@sigmaserve/coord";
import type { BlockHash, KvCacheManager, KvHashSpec } from "@sigmaserve/kvcache";
import { coordv1 } from "@sigmaserve/proto";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { InvalidRequestError } from "../errors.js";
import { SpanKind, SpanStatusCode, context as otelContext, extractTraceContext, trace, traceHeaders, type Context } from "@sigmaserve/telemetry";
import type { MigrationLeases, OfferEnd } from "./migration-leases.js";

export interface MigrationSourceDeps {
  workerId: string;
  epoch: bigint;
  /** This worker's WorkerService address, which the target pulls from. */
  grpcAddress: () => string;
  modelId: string;
  kvHash: KvHashSpec;
  kv: Pick<KvCacheManager, "leaseBlocks">;
  bus: Pick<CoordBus, "offerMigration">;
  leases: MigrationLeases;
  leaseMs: number;
  logger: Logger;
}

export interface OfferOptions {
  /** The running request the blocks belong to, when the migration hands one over. */
  requestId?: string;
  /** How long the target may take to answer the offer, ms (default: the bus's control timeout). */
  replyTimeoutMs?: number;
  /** The trace the migration belongs to (a routed request's, a drain's); default the active context. */
  trace?: Context;
}

const tracer = trace.getTracer("sigmaserve-worker");

/** How an offer ended, from the source's side. */
export type MigrationOutcome =
  /** The target pulled (or needed nothing); `done` is its report. */
  | { kind: "done"; migrationId: string; offeredBlocks: number; wantedBlocks: number; done: coordv1.MigrationDone }
  /** The target said no (model, hash spec, room, draining...). */
  | { kind: "refused"; migrationId: string; reason: string }
  /** Nothing was offered: the source holds none of the chain. */
  | { kind: "nothing-to-offer"; migrationId: string }
  /** The offer could not be delivered, or the lease ran out before the target reported done. */
  | { kind: "failed"; migrationId: string; reason: string };

const OUTCOMES: Record<MigrationOutcome["kind"], coordv1.MigrationOutcome> = {
  done: coordv1.MigrationOutcome.DONE,
  refused: coordv1.MigrationOutcome.REFUSED,
  "nothing-to-offer": coordv1.MigrationOutcome.NOTHING_TO_OFFER,
  failed: coordv1.MigrationOutcome.FAILED,
};

export class MigrationSource {
  /** The done reports of offers whose pull is under way, by migration id. */
  private readonly reports = new Map<string, coordv1.MigrationDone>();

  constructor(private readonly deps: MigrationSourceDeps) {}

  /**
   * Offers the longest held prefix of `chain` (block hashes, root first) to `targetWorkerId`, in a
   * `migration.offer` span whose context rides the offer's NATS headers, so the target's pull joins the trace.
   */
  async offer(targetWorkerId: string, chain: readonly BlockHash[], options: OfferOptions = {}): Promise<MigrationOutcome> {
    const parent = options.trace ?? otelContext.active();
    const span = tracer.startSpan("migration.offer", { kind: SpanKind.PRODUCER, attributes: { "sigmaserve.worker_id": this.deps.workerId, "sigmaserve.migration.target": targetWorkerId, "sigmaserve.migration.chain_blocks": chain.length } }, parent);
    const outcome = await this.offerTraced(targetWorkerId, chain, options, traceHeaders(trace.setSpan(parent, span)));
    span.setAttributes({ "sigmaserve.migration.id": outcome.migrationId, "sigmaserve.migration.outcome": outcome.kind });
    if (outcome.kind === "done") {
      span.setAttributes({ "sigmaserve.migration.offered_blocks": outcome.offeredBlocks, "sigmaserve.migration.wanted_blocks": outcome.wantedBlocks, "sigmaserve.migration.blocks_imported": outcome.done.blocksImported, "sigmaserve.migration.bytes": Number(outcome.done.bytesReceived) });
    }
    if (outcome.kind === "failed") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason });
    span.end();
    return outcome;
  }

  private async offerTraced(targetWorkerId: string, chain: readonly BlockHash[], options: OfferOptions, headers: Record<string, string>): Promise<MigrationOutcome> {
    const { deps } = this;
    const migrationId = randomUUID();
    const lease = deps.kv.leaseBlocks(chain, { chain: true });
    if (lease.held.length === 0) {
      lease.release();
      return { kind: "nothing-to-offer", migrationId };
    }
    let settle!: (end: OfferEnd) => void;
    const ended = new Promise<OfferEnd>((resolve) => (settle = resolve));
    deps.leases.open(migrationId, targetWorkerId, lease, settle);
    const offer = create(coordv1.MigrationOfferSchema, {
      migrationId,
      sourceWorkerId: deps.workerId,
      sourceEpoch: deps.epoch,
      sourceGrpcAddress: deps.grpcAddress(),
      blocks: lease.held.map((blockHash) => {
        const parent = lease.parents.get(blockHash) ?? null;
        return parent === null ? { blockHash } : { blockHash, parentBlockHash: parent };
      }),
      components: [kvComponentToProto("k"), kvComponentToProto("v")],
      requestId: options.requestId ?? "",
      model: deps.modelId,
      kvHash: deps.kvHash,
      leaseMs: deps.leaseMs,
    });
    let reply: coordv1.MigrationReply;
    try {
      reply = await deps.bus.offerMigration(targetWorkerId, offer, { headers, ...(options.replyTimeoutMs === undefined ? {} : { timeoutMs: options.replyTimeoutMs }) });
    } catch (err) {
      const reason = `the offer to ${targetWorkerId} failed: ${(err as Error).message}`;
      deps.leases.end(migrationId, { kind: "withdrawn", reason });
      return { kind: "failed", migrationId, reason };
    }
    if (!reply.accepted) {
      deps.leases.end(migrationId, { kind: "withdrawn", reason: reply.reason });
      deps.logger.info({ migrationId, target: targetWorkerId, reason: reply.reason }, "migration offer refused");
      return { kind: "refused", migrationId, reason: reply.reason };
    }
    if (reply.wantedBlockHashes.length === 0) {
      deps.leases.end(migrationId, { kind: "done" });
      return { kind: "done", migrationId, offeredBlocks: lease.held.length, wantedBlocks: 0, done: create(coordv1.MigrationDoneSchema, { migrationId }) };
    }
    const end = await ended;
    const done = this.reports.get(migrationId);
    this.reports.delete(migrationId);
    if (end.kind === "done" && done !== undefined) {
      return { kind: "done", migrationId, offeredBlocks: lease.held.length, wantedBlocks: reply.wantedBlockHashes.length, done };
    }
    const reason = end.kind === "expired" ? `the lease of ${deps.leaseMs} ms ran out before ${targetWorkerId} reported done` : end.kind === "withdrawn" ? end.reason : "ended without a report";
    return { kind: "failed", migrationId, reason };
  }

  /** migrate.request: offer `request`'s chain to its target and answer how it ended (in the requester's trace, from `headers`). */
  async onRequest(request: coordv1.MigrationRequest, headers: Readonly<Record<string, string>> = {}): Promise<coordv1.MigrationResult> {
    if (request.targetWorkerId === "") throw new InvalidRequestError("target_worker_id", "must name the worker to move the blocks to");
    if (request.targetWorkerId === this.deps.workerId) throw new InvalidRequestError("target_worker_id", `is this worker (${this.deps.workerId}): nothing to move`);
    if (request.blockHashes.length === 0) throw new InvalidRequestError("block_hashes", "must name at least one block");
    const parent = extractTraceContext(headers);
    const outcome = await this.offer(request.targetWorkerId, request.blockHashes, { trace: parent, ...(request.requestId === "" ? {} : { requestId: request.requestId }) });
    return create(coordv1.MigrationResultSchema, {
      migrationId: outcome.migrationId,
      outcome: OUTCOMES[outcome.kind],
      reason: outcome.kind === "refused" || outcome.kind === "failed" ? outcome.reason : "",
      ...(outcome.kind === "done" ? { offeredBlocks: outcome.offeredBlocks, wantedBlocks: outcome.wantedBlocks, done: outcome.done } : {}),
    });
  }

  /** migrate.done from a target: the pull ended; the lease goes. Unknown ids are an error the target sees. */
  onDone(done: coordv1.MigrationDone): void {
    this.deps.leases.check(done.migrationId, []); // throws MigrationLeaseError for an unknown or ended migration
    this.reports.set(done.migrationId, done);
    this.deps.leases.end(done.migrationId, { kind: "done" });
  }
}
