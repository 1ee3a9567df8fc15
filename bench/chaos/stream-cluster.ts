/**
 * The cluster the stream scenarios share (sigkill, sigstop, nats-restart,
 * router-kill): 3 sigma-tiny worker processes, one router, a restartable
 * nats-server. Built on first use and reused, because starting a worker takes
 * seconds on a small machine and --short must stay within CI's minute or so.
 * NOTE: sharing means each scenario starts from what the previous one left:
 * a scenario that leaks (a worker not idle, a worker left stalled) shows up
 * in the next one's oracle too, which is a check in itself. The router's
 * --stall-timeout-ms is 1 s (sigstop-mid-stream's detection); the other
 * scenarios never stop a worker, so it changes nothing for them.
 */
import { startChaosCluster, type ChaosCluster } from "./chaos-cluster.js";

export const STREAM_CLUSTER_WORKERS = 3;
export const STALL_TIMEOUT_MS = 1_000;

export class StreamClusterPool {
  private cluster: Promise<ChaosCluster> | undefined;

  get(): Promise<ChaosCluster> {
    this.cluster ??= startChaosCluster({ workers: STREAM_CLUSTER_WORKERS, routerFlags: ["--stall-timeout-ms", String(STALL_TIMEOUT_MS)] });
    return this.cluster;
  }

  async stop(): Promise<void> {
    if (this.cluster === undefined) return;
    const cluster = await this.cluster.catch(() => undefined);
    this.cluster = undefined;
    await cluster?.stop();
  }
}

/** Live workers, newest last. */
export const liveWorkers = (cluster: ChaosCluster) => cluster.workers.filter((w) => !w.exited());
