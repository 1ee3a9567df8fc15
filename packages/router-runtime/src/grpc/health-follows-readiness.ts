/**
 * The router's grpc.health.v1 status follows its readiness: SERVING exactly
 * when /readyz says 200 (at least one routable worker, http/probes.ts), for the
 * whole server ("") and for InferenceService alike, so a Kubernetes gRPC probe
 * and an HTTP one agree.
 *
 * Readiness changes on three kinds of events: a worker joins or leaves the pool
 * (WorkerPool.onChange, applied at once), a heartbeat changes a worker's state
 * (READY → DRAINING / DRAINED) and a quarantine starts or expires. The pool
 * announces neither of the last two, so they are picked up by a recheck every
 * `recheckMs`. NOTE: a recheck is one pass over the pool, and the status is only
 * set (and Watch callers told) when it changes.
 *
 * Liveness is a different question ("is the process alive?"): a router with no
 * worker must not be restarted. `LIVENESS_HEALTH_SERVICE` is a health service
 * name that says SERVING from start-up to shutdown whatever the pool holds, for
 * a Kubernetes gRPC liveness probe (`grpc: { port, service: liveness }`).
 */
import type { HealthReporter, ServingStatus } from "@sigmaserve/proto";
import { poolReadiness } from "../http/probes.js";
import type { WorkerPool } from "../workers/worker-pool.js";

/** The health service name that is SERVING from start-up to shutdown (liveness), unlike "" and InferenceService (readiness). */
export const LIVENESS_HEALTH_SERVICE = "liveness";

/** How often heartbeat states and quarantines are re-read, ms. */
export const DEFAULT_HEALTH_RECHECK_MS = 1_000;

export interface HealthFollower {
  /** Re-reads readiness now (and sets the status when it changed). */
  recheck(): void;
  /** Stops following; the status stays as it was (the caller sets NOT_SERVING at shutdown). */
  stop(): void;
}

export function healthFollowsReadiness(health: HealthReporter, pool: WorkerPool, options: { recheckMs?: number } = {}): HealthFollower {
  let current: ServingStatus | undefined;
  const recheck = (): void => {
    const next: ServingStatus = poolReadiness(pool).ready ? "SERVING" : "NOT_SERVING";
    if (next === current) return;
    current = next;
    health.setAll(next);
  };
  const unsubscribe = pool.onChange(recheck);
  const timer = setInterval(recheck, options.recheckMs ?? DEFAULT_HEALTH_RECHECK_MS);
  timer.unref();
  recheck();
  return {
    recheck,
    stop: () => {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
