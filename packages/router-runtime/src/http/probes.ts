/**
 * Liveness and readiness for load balancers and Kubernetes.
 *
 * /healthz is 200 whenever the process answers. /readyz is 200 when at least
 * one worker is routable (registered, ready by its last heartbeat, not
 * quarantined) for some model, else 503 with the reason, so a router with an
 * empty pool is taken out of rotation rather than answering 503 per request.
 * The gRPC health service follows the same rule (grpc/health-follows-readiness.ts):
 * `poolReadiness` is the one place it is computed.
 */
import type { RequestPipeline } from "../request-pipeline.js";
import type { WorkerPool } from "../workers/worker-pool.js";

export interface Readiness {
  ready: boolean;
  routable_workers: number;
  registered_workers: number;
  reason?: string;
}

/** Readiness of a pool: ready when some model has a routable worker (a DRAINING, DRAINED or STARTING one is not). */
export function poolReadiness(pool: Pick<WorkerPool, "list" | "models" | "routable">, nowMs: number = Date.now()): Readiness {
  const registered = pool.list().length;
  const routable = pool.models().reduce((sum, model) => sum + pool.routable(model, nowMs).length, 0);
  if (routable > 0) return { ready: true, routable_workers: routable, registered_workers: registered };
  const reason = registered === 0 ? "no worker is registered" : `none of the ${registered} registered workers is ready (starting, draining or quarantined after a failure)`;
  return { ready: false, routable_workers: 0, registered_workers: registered, reason };
}

export function readiness(pipeline: RequestPipeline, nowMs: number = Date.now()): Readiness {
  return poolReadiness(pipeline.pool, nowMs);
}
