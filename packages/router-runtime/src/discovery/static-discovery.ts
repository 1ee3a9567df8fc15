/**
 * Workers from a list of addresses (no bus): each is asked for its
 * WorkerInfo until it answers, then polled for its load. A worker that stops
 * answering is removed, and added back when it answers again. There are no
 * KV events on this path, so kv_aware routing relies on speculation alone.
 *
 * The list is fixed for `--workers`, or changes with `setAddresses` when
 * something else finds the workers (EndpointSliceDiscovery): a new address is
 * asked at once, a withdrawn one is dropped with its worker.
 */
import type { Logger } from "pino";
import type { ServiceClient, workerv1 } from "@sigmaserve/proto";
import type { WorkerPool } from "../workers/worker-pool.js";

/** How often loads are polled, ms. */
export const STATIC_POLL_INTERVAL_MS = 1_000;
/** The deadline of one GetInfo or GetLoad, ms. */
const PROBE_TIMEOUT_MS = 2_000;

type Probe = ServiceClient<typeof workerv1.WorkerService>;

export class StaticDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private addresses: string[];
  private readonly probes = new Map<string, Probe>();
  private readonly idByAddress = new Map<string, string>();

  constructor(
    addresses: readonly string[],
    private readonly pool: WorkerPool,
    private readonly logger: Logger,
    private readonly intervalMs = STATIC_POLL_INTERVAL_MS,
  ) {
    this.addresses = [...new Set(addresses)];
  }

  /** Resolves once every address has been asked once. */
  async start(): Promise<void> {
    this.started = true;
    // Dialled as the pool dials workers: with its TLS credentials when there are any.
    for (const address of this.addresses) this.probes.set(address, this.pool.dial(address));
    await this.poll(this.addresses);
    if (this.stopped) return;
    this.timer = setInterval(() => void this.poll(this.addresses), this.intervalMs);
    this.timer.unref();
  }

  /** The addresses polled now. */
  current(): readonly string[] {
    return this.addresses;
  }

  /**
   * Replaces the list. A withdrawn address's probe is closed and its worker
   * leaves the pool at once; a new one is asked now, and the promise resolves
   * once it has been (before start(), start() asks them all).
   */
  async setAddresses(addresses: readonly string[]): Promise<void> {
    const next = [...new Set(addresses)];
    const added = next.filter((a) => !this.addresses.includes(a));
    const withdrawn = this.addresses.filter((a) => !next.includes(a));
    this.addresses = next;
    for (const address of withdrawn) this.forget(address);
    if (!this.started || this.stopped) return;
    for (const address of added) this.probes.set(address, this.pool.dial(address));
    await this.poll(added);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const probe of this.probes.values()) probe.close();
    this.probes.clear();
  }

  private forget(address: string): void {
    this.probes.get(address)?.close();
    this.probes.delete(address);
    const id = this.idByAddress.get(address);
    this.idByAddress.delete(address);
    if (id !== undefined && this.pool.get(id)?.address === address) {
      this.logger.info({ address, workerId: id }, "worker address withdrawn");
      this.pool.remove(id);
    }
  }

  private async poll(addresses: readonly string[]): Promise<void> {
    await Promise.all(addresses.map((address) => this.pollOne(address)));
  }

  private async pollOne(address: string): Promise<void> {
    const probe = this.probes.get(address);
    if (probe === undefined) return;
    // After each await: if the address was withdrawn meanwhile, what came back is not used.
    const withdrawn = () => this.probes.get(address) !== probe;
    try {
      const known = this.idByAddress.get(address);
      if (known === undefined || this.pool.get(known) === undefined) {
        const { info } = await probe.getInfo({}, { timeoutMs: PROBE_TIMEOUT_MS });
        if (withdrawn()) return;
        // Register the address the router dialled, not the one the worker believes it has.
        this.pool.upsert({ ...info!, grpcAddress: address });
        this.idByAddress.set(address, info!.workerId);
      }
      const { load } = await probe.getLoad({}, { timeoutMs: PROBE_TIMEOUT_MS });
      if (withdrawn()) return;
      this.pool.updateLoad(load!);
    } catch (err) {
      if (withdrawn()) return;
      const id = this.idByAddress.get(address);
      if (id !== undefined && this.pool.get(id) !== undefined) {
        this.logger.warn({ address, err: (err as Error).message }, "static worker stopped answering");
        this.pool.remove(id);
      }
    }
  }
}
