/**
 * The autoscaler loop: one per cluster. Every router with autoscaling on
 * contends for the "autoscaler" lease on the bus (coord's campaign); only the
 * holder decides, and it checks the lease again before every step it takes,
 * so a router that loses the lease stops scaling at once. Each interval it
 * reads the signals (autoscale-signals.ts), decides (scale-policy.ts), logs
 * the decision with the signals behind it, exports both as metrics, and
 * carries the step out through the ScaleProvider:
 * - up: addWorker() per step; the new worker registers when it is ready;
 * - down: pick the cheapest worker (pick-drain-victim.ts), drain it with
 *   migration over the bus (its streams and hot prefixes move to peers), wait
 *   until it reports DRAINED with nothing running or waiting, then
 *   removeWorker(). A worker that has not drained by the drain timeout is
 *   left alone (still draining, never removed with streams) and reported.
 * One step runs at a time; an interval that finds one still running skips.
 */
import { create } from "@bufbuild/protobuf";
import type { CoordBus, LeaderElection } from "@sigmaserve/coord";
import type { KvIndex } from "@sigmaserve/kv-index";
import { coordv1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import type { RecentActivity } from "../metrics/recent-activity.js";
import type { RouterMetrics } from "../metrics/router-metrics.js";
import type { WorkerPool } from "../workers/worker-pool.js";
import { readSignals, type AutoscaleSignals } from "./autoscale-signals.js";
import { AutoscalerMetrics } from "./autoscaler-metrics.js";
import { pickDrainVictim } from "./pick-drain-victim.js";
import type { ScaleProvider } from "./scale-provider.js";
import { decideScale, type ScaleDecision, type ScaleMemory, type ScalePolicyOptions } from "./scale-policy.js";

/** The lease's name on the bus. */
export const AUTOSCALER_LEASE = "autoscaler";
/** How often a drain's progress is asked for, ms. */
const DRAIN_POLL_MS = 500;

export interface AutoscalerOptions {
  bus: CoordBus;
  provider: ScaleProvider;
  pool: WorkerPool;
  index: KvIndex;
  recent: RecentActivity;
  routerMetrics: RouterMetrics;
  logger: Logger;
  /** This router's id: the lease holder's name. */
  routerId: string;
  policy: ScalePolicyOptions;
  /** Decision interval, ms. */
  intervalMs: number;
  /** How long the leader lease lasts without renewal, ms. */
  leaseTtlMs: number;
  /** How long a scale-down waits for its worker to drain, ms. */
  drainTimeoutMs: number;
}

export interface AutoscaleRecord {
  atMs: number;
  decision: ScaleDecision;
  signals: AutoscaleSignals;
  desired: number;
}

export class Autoscaler {
  readonly metrics: AutoscalerMetrics;
  /** Decisions that did something (up or down), oldest first; bounded. */
  readonly steps: AutoscaleRecord[] = [];
  private election: LeaderElection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private memory: ScaleMemory = { lastScaleUpAtMs: undefined, downSinceMs: undefined };
  private lastReadingAtMs = Date.now();
  private lastRejected = 0;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: AutoscalerOptions) {
    this.metrics = new AutoscalerMetrics(options.routerMetrics.registry, options.provider.kind);
  }

  async start(): Promise<void> {
    const { logger, routerId } = this.options;
    this.election = await this.options.bus.campaign({
      name: AUTOSCALER_LEASE,
      holderId: routerId,
      ttlMs: this.options.leaseTtlMs,
      onChange: (leading, lease) => {
        this.metrics.leader.set(leading ? 1 : 0);
        logger.info({ routerId, leading, term: lease === undefined ? undefined : String(lease.term) }, leading ? "autoscaler: this router leads" : "autoscaler: this router stopped leading");
      },
    });
    this.metrics.leader.set(this.election.isLeader() ? 1 : 0);
    logger.info({ routerId, provider: this.options.provider.kind, leading: this.election.isLeader(), min: this.options.policy.minWorkers, max: this.options.policy.maxWorkers, intervalMs: this.options.intervalMs }, "autoscaler started");
    // The first decision at once: a cluster below its minimum (a fresh `up --autoscale`) should not wait an interval.
    this.schedule(0);
  }

  isLeader(): boolean {
    return this.election?.isLeader() ?? false;
  }

  /** Runs one interval now (tests; the timer calls it too). Resolves when its step is done. */
  async tick(): Promise<void> {
    if (this.running !== undefined) return this.running;
    this.running = this.decideAndAct().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
    await this.election?.close();
    await this.options.provider.close();
  }

  private schedule(delayMs = this.options.intervalMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .catch((err: unknown) => this.options.logger.error({ err: (err as Error).message }, "autoscaler: interval failed"))
        .finally(() => this.schedule());
    }, delayMs);
    this.timer.unref();
  }

  private async decideAndAct(): Promise<void> {
    const { logger, provider, pool, recent, routerMetrics, policy } = this.options;
    if (!this.isLeader()) return;
    const nowMs = Date.now();
    const rejections = routerMetrics.rejectedTotal - this.lastRejected;
    this.lastRejected = routerMetrics.rejectedTotal;
    const signals = readSignals(pool.list(), recent.ttftQuantile(0.9, this.lastReadingAtMs, nowMs), rejections);
    this.lastReadingAtMs = nowMs;
    let desired: number;
    try {
      desired = await provider.desiredReplicas();
    } catch (err) {
      this.metrics.failures.inc({ step: "read" });
      logger.error({ provider: provider.kind, err: (err as Error).message, kind: (err as { kind?: string }).kind }, "autoscaler: cannot read the worker count; no step this interval");
      return;
    }
    const { decision, memory } = decideScale({ nowMs, signals, desired }, this.memory, policy);
    this.memory = memory;
    this.metrics.observe(signals, desired, decision);
    const line = { action: decision.action, reason: decision.reason, desired, ...(decision.action === "hold" ? {} : { by: decision.by }), signals: summarize(signals) };
    if (decision.action === "hold") logger.debug(line, "autoscaler: hold");
    else logger.info(line, `autoscaler: scale ${decision.action}`);
    if (decision.action === "hold") return;
    this.steps.push({ atMs: nowMs, decision, signals, desired });
    if (this.steps.length > 100) this.steps.shift();
    for (let i = 0; i < decision.by; i++) {
      if (!this.isLeader() || this.stopped) return;
      const ok = decision.action === "up" ? await this.addOne() : await this.removeOne();
      if (!ok) return;
    }
  }

  private async addOne(): Promise<boolean> {
    try {
      await this.options.provider.addWorker();
      return true;
    } catch (err) {
      this.metrics.failures.inc({ step: "up" });
      this.options.logger.error({ provider: this.options.provider.kind, err: (err as Error).message, kind: (err as { kind?: string }).kind }, "autoscaler: scale-up failed; will retry next interval");
      // The hold after a scale-up must not start for a worker that was never asked for.
      this.memory = { ...this.memory, lastScaleUpAtMs: undefined };
      return false;
    }
  }

  private async removeOne(): Promise<boolean> {
    const { bus, pool, index, logger, provider, routerId, drainTimeoutMs } = this.options;
    // One pass over the index for every candidate (stats() walks every worker's residency).
    const blocks = new Map(index.stats().perWorker.map((w) => [w.workerId, w.blocks]));
    const victim = pickDrainVictim(pool.list(), (id) => blocks.get(id));
    if (victim === undefined) return false;
    logger.info({ workerId: victim.workerId, requests: victim.requests, blocks: victim.blocks }, "autoscaler: draining with migration before removal");
    const started = Date.now();
    try {
      let status = await bus.requestDrain(victim.workerId, create(coordv1.DrainCommandSchema, { requesterId: `autoscaler-${routerId}`, graceMs: 0, migrate: true }));
      while (!(status.state === coordv1.WorkerState.DRAINED && status.runningRequests === 0 && status.waitingRequests === 0)) {
        if (Date.now() - started > drainTimeoutMs) {
          this.metrics.failures.inc({ step: "drain" });
          logger.error({ workerId: victim.workerId, running: status.runningRequests, waiting: status.waitingRequests, timeoutMs: drainTimeoutMs }, "autoscaler: the worker did not drain in time; it is not removed");
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
        status = await bus.requestDrain(victim.workerId, create(coordv1.DrainCommandSchema, { requesterId: `autoscaler-${routerId}`, graceMs: 0, migrate: true }));
      }
    } catch (err) {
      this.metrics.failures.inc({ step: "drain" });
      logger.error({ workerId: victim.workerId, err: (err as Error).message }, "autoscaler: drain failed; the worker is not removed");
      return false;
    }
    this.metrics.drainSeconds.observe((Date.now() - started) / 1000);
    // The lease may have moved while we waited: a router that no longer leads must not remove anything.
    if (!this.isLeader()) {
      logger.warn({ workerId: victim.workerId }, "autoscaler: lost the lease during the drain; leaving the drained worker to the next leader");
      return false;
    }
    try {
      await provider.removeWorker(victim.workerId);
      logger.info({ workerId: victim.workerId, drainMs: Date.now() - started }, "autoscaler: removed the drained worker");
      return true;
    } catch (err) {
      this.metrics.failures.inc({ step: "down" });
      logger.error({ provider: provider.kind, workerId: victim.workerId, err: (err as Error).message, kind: (err as { kind?: string }).kind }, "autoscaler: removal failed; the worker stays drained");
      return false;
    }
  }
}

function summarize(s: AutoscaleSignals): Record<string, unknown> {
  const r = (x: number) => Number(x.toFixed(3));
  return {
    ready: s.ready,
    starting: s.starting,
    draining: s.draining,
    waitingPerWorker: r(s.waitingPerWorker),
    runningPerWorker: r(s.runningPerWorker),
    kv: { k: { device: r(s.kv.k.device), host: r(s.kv.k.host) }, v: { device: r(s.kv.v.device), host: r(s.kv.v.host) } },
    ttftP90Ms: s.ttftP90Ms,
    admissionRejections: s.admissionRejections,
  };
}
