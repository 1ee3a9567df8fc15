/**
 * The other workers, as a migrating worker needs them: who is registered
 * (the registry watch), how loaded each is (their heartbeat loads) and which
 * can take this worker's blocks (same model, same hash spec). `pick()` answers
 * with the peer a kv_aware router would choose for a prefix nobody else
 * holds, the least loaded, counting what this worker already sent it, so a
 * drain spreads its chains and requests instead of piling them on one peer.
 */
import type { CoordBus, Subscription, WorkerWatch } from "@sigmaserve/coord";
import { coordv1, kvv1 } from "@sigmaserve/proto";

export interface PeerDirectoryOptions {
  workerId: string;
  modelId: string;
  blockSizeTokens: number;
}

export class PeerDirectory {
  private watch: WorkerWatch | undefined;
  private loadSubscription: Subscription | undefined;
  private readonly loads = new Map<string, coordv1.WorkerLoad>();
  /** Requests or blocks this worker sent each peer (during a drain), added to its reported load. */
  private readonly assigned = new Map<string, number>();

  constructor(
    private readonly bus: Pick<CoordBus, "watchWorkers" | "subscribeLoads">,
    private readonly options: PeerDirectoryOptions,
  ) {}

  async start(): Promise<void> {
    this.watch = await this.bus.watchWorkers(() => {});
    this.loadSubscription = await this.bus.subscribeLoads((load) => {
      if (load.workerId !== this.options.workerId) this.loads.set(load.workerId, load);
    });
  }

  /** Peers that can take this worker's blocks now: same model and block size, not draining (per their last load). */
  candidates(): string[] {
    const out: string[] = [];
    for (const [id, info] of this.watch?.workers() ?? []) {
      if (id === this.options.workerId || info.model?.id !== this.options.modelId || info.kvHash?.blockSizeTokens !== this.options.blockSizeTokens) continue;
      const state = this.loads.get(id)?.state ?? coordv1.WorkerState.READY;
      if (state === coordv1.WorkerState.READY) out.push(id);
    }
    return out.sort();
  }

  /** The least loaded candidate (running + waiting + what was sent to it; then the fuller of its K and V pools; then id), charged `weight`; null when none. */
  pick(weight = 1): string | null {
    let best: { id: string; load: number; pressure: number } | null = null;
    for (const id of this.candidates()) {
      const load = this.loads.get(id);
      const queued = (load?.runningRequests ?? 0) + (load?.waitingRequests ?? 0) + (this.assigned.get(id) ?? 0);
      const pressure = Math.max(0, ...(load?.kvUsage ?? []).filter((u) => u.tier === kvv1.KvTier.DEVICE && u.totalBlocks > 0).map((u) => u.usedBlocks / u.totalBlocks));
      if (best === null || queued < best.load || (queued === best.load && pressure < best.pressure)) best = { id, load: queued, pressure };
    }
    if (best !== null) this.assigned.set(best.id, (this.assigned.get(best.id) ?? 0) + weight);
    return best?.id ?? null;
  }

  async close(): Promise<void> {
    await this.watch?.close();
    await this.loadSubscription?.close();
  }
}
