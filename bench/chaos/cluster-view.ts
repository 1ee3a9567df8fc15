/**
 * What a scenario observes of the cluster from outside, the way an operator
 * would: the router's GET /v1/cluster (which worker this router has calls on,
 * whether one is stalled), its /metrics failover counters, and a worker's own
 * GetLoad over gRPC (answered at once, not on the heartbeat's schedule).
 */
import { createGrpcClient, kvv1, workerv1 } from "@sigmaserve/proto";

export interface WorkerView {
  id: string;
  state: string;
  router_in_flight: number;
  running_requests: number;
  quarantined: boolean;
  stalled?: boolean;
  load_measured_at_unix_ms: number | null;
}

export interface ClusterView {
  workers: WorkerView[];
  recent: { decisions: { request_id: string; worker_id: string; at_unix_ms: number }[] };
}

export async function clusterView(routerHttp: string): Promise<ClusterView> {
  const response = await fetch(`http://${routerHttp}/v1/cluster`);
  if (!response.ok) throw new Error(`GET /v1/cluster: ${response.status}`);
  return (await response.json()) as ClusterView;
}

/** The one worker this router has a call on (the scenario runs one request at a time), or undefined. */
export async function servingWorker(routerHttp: string): Promise<string | undefined> {
  const busy = (await clusterView(routerHttp)).workers.filter((w) => w.router_in_flight > 0);
  return busy.length === 1 ? busy[0]!.id : undefined;
}

/** sigmaserve_router_failovers_total by kind (retry, replay, handover). */
export async function failovers(routerHttp: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://${routerHttp}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^sigmaserve_router_failovers_total\{kind="(\w+)"\} (\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

export interface WorkerIdleness {
  running: number;
  waiting: number;
  usedBlocks: number;
  preemptions: number;
  /** Blocks of the smallest device pool (K or V): how many a worker can hold at most. */
  deviceBlocks: number;
}

/** Asks a worker directly what it holds: running and waiting requests, used (pinned) KV blocks over every pool. */
export async function workerIdleness(address: string): Promise<WorkerIdleness> {
  const client = createGrpcClient(workerv1.WorkerService, address);
  try {
    const { load } = await client.getLoad({}, { timeoutMs: 5_000 });
    return {
      running: load?.runningRequests ?? -1,
      waiting: load?.waitingRequests ?? -1,
      usedBlocks: (load?.kvUsage ?? []).reduce((sum, pool) => sum + pool.usedBlocks, 0),
      preemptions: Number(load?.preemptionsTotal ?? 0n),
      deviceBlocks: Math.min(...(load?.kvUsage ?? []).filter((pool) => pool.tier === kvv1.KvTier.DEVICE).map((pool) => pool.totalBlocks)),
    };
  } finally {
    client.close();
  }
}

/** Polls until every worker in `addresses` is idle (nothing running, no block used), at most `boundMs`; "" or what is left. */
export async function awaitIdle(addresses: string[], boundMs: number): Promise<string> {
  const until = performance.now() + boundMs;
  for (;;) {
    const loads = await Promise.all(addresses.map(async (a) => [a, await workerIdleness(a)] as const));
    const busy = loads.filter(([, l]) => l.running !== 0 || l.waiting !== 0 || l.usedBlocks !== 0);
    const left = busy.map(([a, l]) => `${a}: ${l.running} running, ${l.waiting} waiting, ${l.usedBlocks} KV blocks used`).join("; ");
    if (left === "") return "";
    if (performance.now() >= until) return `not idle after ${boundMs} ms: ${left}`;
    await new Promise((r) => setTimeout(r, 100));
  }
}
