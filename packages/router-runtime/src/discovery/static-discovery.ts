/**
 * Workers from a fixed list of addresses (no bus): each is asked for its
 * WorkerInfo until it answers, then polled for its load. A worker that stops
 * answering is removed, and added back when it answers again. There are no
 * KV events on this path, so kv_aware routing relies on speculation alone.
 */
import type { Logger } from "pino";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import type { WorkerPool } from "../workers/worker-pool.js";

/** How often loads are polled, ms. */
export const STATIC_POLL_INTERVAL_MS = 1_000;

export class StaticDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private readonly probes = new Map<string, ReturnType<typeof createGrpcClient<typeof workerv1.WorkerService>>>();
  private readonly idByAddress = new Map<string, string>();

  constructor(
    private readonly addresses: readonly string[],
    private readonly pool: WorkerPool,
    private readonly logger: Logger,
    private readonly intervalMs = STATIC_POLL_INTERVAL_MS,
  ) {}

  async start(): Promise<void> {
    for (const address of this.addresses) this.probes.set(address, createGrpcClient(workerv1.WorkerService, address));
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.addresses.map(async (address) => {
        const probe = this.probes.get(address)!;
        try {
          const known = this.idByAddress.get(address);
          if (known === undefined || this.pool.get(known) === undefined) {
            const { info } = await probe.getInfo({}, { timeoutMs: 2_000 });
            // Register the address the router dialled, not the one the worker believes it has.
            this.pool.upsert({ ...info!, grpcAddress: address });
            this.idByAddress.set(address, info!.workerId);
          }
          const { load } = await probe.getLoad({}, { timeoutMs: 2_000 });
          this.pool.updateLoad(load!);
        } catch (err) {
          const id = this.idByAddress.get(address);
          if (id !== undefined && this.pool.get(id) !== undefined) {
            this.logger.warn({ address, err: (err as Error).message }, "static worker stopped answering");
            this.pool.remove(id);
          }
        }
      }),
    );
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const probe of this.probes.values()) probe.close();
  }
}
