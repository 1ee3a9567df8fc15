/**
 * Workers from a Kubernetes Service's EndpointSlices (no bus): the slices
 * labelled `kubernetes.io/service-name=<service>` are listed, then watched
 * from the list's resourceVersion; when the watch ends (the API server closes
 * watches every few minutes, or the connection drops) they are listed again
 * and watched again, after a backoff that grows while attempts fail. The
 * list replaces what was known, so nothing missed between two watches stays.
 *
 * The addresses are each ready endpoint's first address with the slice's
 * port named `portName` (`conditions.ready` unset counts as ready, as the API
 * documents; a terminating pod is not ready). They go to a StaticDiscovery,
 * which asks each for its WorkerInfo and polls its load as for `--workers`:
 * the pool sees a worker once it answers, and loses it when its endpoint
 * goes (not ready, deleted) or when it stops answering.
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { loadKubeEnvironment } from "../autoscaler/kubernetes/kubernetes-provider.js";
import type { WorkerPool } from "../workers/worker-pool.js";
import { STATIC_POLL_INTERVAL_MS, StaticDiscovery } from "./static-discovery.js";

/** The label the EndpointSlice controller puts on a Service's slices. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** The Service port the workers' gRPC is on, by name. */
export const DEFAULT_ENDPOINT_PORT_NAME = "grpc";
/** The wait before listing again after a watch ended, ms; it doubles per failure in a row up to MAX_RELIST_DELAY_MS. */
export const DEFAULT_RELIST_BASE_DELAY_MS = 500;
export const MAX_RELIST_DELAY_MS = 30_000;
/** A list request's deadline, ms. */
export const DEFAULT_LIST_TIMEOUT_MS = 10_000;

export interface EndpointSliceDiscoveryOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** The workers' Service. */
  service: string;
  pool: WorkerPool;
  logger: Logger;
  /** The name of the Service port to dial (default "grpc"; "" for an unnamed port). */
  portName?: string;
  /** How often each worker's load is polled, ms. */
  pollIntervalMs?: number;
  relistBaseDelayMs?: number;
  listTimeoutMs?: number;
}

/** `host:port`, with an IPv6 host in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The ready endpoints' addresses at the named port, sorted; slices without that port are left out. */
export function readyAddresses(slices: Iterable<k8s.V1EndpointSlice>, portName: string): string[] {
  const addresses = new Set<string>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => (p.name ?? "") === portName)?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const host = endpoint.addresses?.[0];
      if (host !== undefined && endpoint.conditions?.ready !== false) addresses.add(joinHostPort(host, port));
    }
  }
  return [...addresses].sort();
}

/** An HTTP status from a failed list (ApiException.code) or watch (statusCode on the Error). */
function httpStatus(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return (err as k8s.ApiException<unknown>).code;
  const code = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

export class EndpointSliceDiscovery {
  private readonly poller: StaticDiscovery;
  private readonly api: k8s.DiscoveryV1Api;
  private readonly watcher: k8s.Watch;
  private readonly logger: Logger;
  private readonly portName: string;
  private readonly labelSelector: string;
  private readonly path: string;
  private readonly slices = new Map<string, k8s.V1EndpointSlice>();
  private readonly stopping = new AbortController();
  private readonly warnedNoPort = new Set<string>();
  private resourceVersion: string | undefined;
  private watchAbort: AbortController | undefined;
  private published: readonly string[] = [];
  private loop: Promise<void> | undefined;

  constructor(private readonly options: EndpointSliceDiscoveryOptions) {
    this.logger = options.logger.child({ discovery: "endpointslices", namespace: options.namespace, service: options.service });
    this.poller = new StaticDiscovery([], options.pool, this.logger, options.pollIntervalMs ?? STATIC_POLL_INTERVAL_MS);
    this.api = options.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.watcher = new k8s.Watch(options.kubeConfig);
    this.portName = options.portName ?? DEFAULT_ENDPOINT_PORT_NAME;
    this.labelSelector = `${SERVICE_NAME_LABEL}=${options.service}`;
    this.path = `/apis/discovery.k8s.io/v1/namespaces/${options.namespace}/endpointslices`;
  }

  /** From the process's environment (KUBECONFIG or the in-cluster service account; the namespace as loadKubeEnvironment says). */
  static fromEnvironment(options: Omit<EndpointSliceDiscoveryOptions, "kubeConfig" | "namespace"> & { namespace?: string; namespaceFile?: string }): EndpointSliceDiscovery {
    const { namespaceFile, namespace: given, ...rest } = options;
    const { kubeConfig, namespace } = loadKubeEnvironment({ namespace: given, namespaceFile, logger: options.logger });
    return new EndpointSliceDiscovery({ ...rest, kubeConfig, namespace });
  }

  /**
   * Resolves after the first list: its workers have been asked once (those
   * that answered are in the pool). A failed first list is logged and retried
   * in the background; start() does not throw for it.
   */
  async start(): Promise<void> {
    await this.poller.start();
    if (this.stopping.signal.aborted) return;
    await new Promise<void>((firstListDone) => {
      this.loop = this.run(firstListDone);
    });
  }

  /** The worker addresses found now (ready endpoints), sorted. */
  addresses(): readonly string[] {
    return this.published;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.watchAbort?.abort();
    await this.loop;
    this.poller.stop();
  }

  private async run(firstListDone: () => void): Promise<void> {
    let failuresInARow = 0;
    while (!this.stopping.signal.aborted) {
      try {
        await this.list();
        firstListDone();
        const ended = await this.watch();
        if (this.stopping.signal.aborted) break;
        if (ended === undefined) {
          // Only a watch that ran and ended cleanly resets the backoff: a list that works with a watch that fails at once must not spin.
          failuresInARow = 0;
          this.logger.debug("endpoint slice watch ended: listing again");
        } else {
          failuresInARow++;
          this.logFailure("watch", ended);
        }
      } catch (err) {
        firstListDone();
        if (this.stopping.signal.aborted) break;
        failuresInARow++;
        this.logFailure("list", err);
      }
      const delayMs = Math.min(MAX_RELIST_DELAY_MS, (this.options.relistBaseDelayMs ?? DEFAULT_RELIST_BASE_DELAY_MS) * 2 ** failuresInARow);
      await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  private async list(): Promise<void> {
    const deadline = AbortSignal.any([AbortSignal.timeout(this.options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS), this.stopping.signal]);
    const signalled: k8s.ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(deadline);
        return new k8s.Observable(Promise.resolve(context));
      },
      post: (response) => new k8s.Observable(Promise.resolve(response)),
    };
    const list = await this.api.listNamespacedEndpointSlice(
      { namespace: this.options.namespace, labelSelector: this.labelSelector },
      { middleware: [signalled], middlewareMergeStrategy: "append" },
    );
    this.slices.clear();
    for (const slice of list.items) this.slices.set(slice.metadata?.name ?? "", slice);
    this.resourceVersion = list.metadata?.resourceVersion;
    await this.publish();
  }

  /** Watches from the list's resourceVersion; resolves when the watch ends: undefined when it ended cleanly or must re-list, else the error. */
  private watch(): Promise<unknown> {
    this.watchAbort = undefined;
    return new Promise<unknown>((resolve) => {
      // NOTE: the watch's AbortController exists only once the response headers are in; stopping must not wait for them.
      const onStop = () => resolve(undefined);
      this.stopping.signal.addEventListener("abort", onStop, { once: true });
      const ended = (err: unknown) => {
        this.stopping.signal.removeEventListener("abort", onStop);
        resolve(err);
      };
      let relist = false;
      const onEvent = (type: string, object: k8s.V1EndpointSlice | k8s.V1Status) => {
        if (relist) return;
        if (type === "ERROR") {
          // A Status in the stream, e.g. 410 Expired: the resourceVersion is too old to watch from. Listing again fixes it.
          this.logger.info({ status: (object as k8s.V1Status).code, message: (object as k8s.V1Status).message }, "endpoint slice watch error event: listing again");
          relist = true;
          this.watchAbort?.abort();
          return;
        }
        this.apply(type, object as k8s.V1EndpointSlice);
      };
      this.watcher
        .watch(this.path, { labelSelector: this.labelSelector, allowWatchBookmarks: true, resourceVersion: this.resourceVersion }, onEvent, (err: unknown) =>
          // NOTE: the client ends a watch silent for 30 s with a TimeoutError: a quiet Service, not a fault.
          ended(relist || err === null || err === undefined || (err as Error).name === "TimeoutError" ? undefined : err),
        )
        .then(
          (controller) => {
            this.watchAbort = controller;
            if (this.stopping.signal.aborted || relist) controller.abort();
          },
          (err: unknown) => ended(err),
        );
    });
  }

  private apply(type: string, slice: k8s.V1EndpointSlice): void {
    const name = slice.metadata?.name ?? "";
    if (slice.metadata?.resourceVersion !== undefined) this.resourceVersion = slice.metadata.resourceVersion;
    if (type === "ADDED" || type === "MODIFIED") this.slices.set(name, slice);
    else if (type === "DELETED") this.slices.delete(name);
    else return; // BOOKMARK: only the resourceVersion moves.
    void this.publish();
  }

  private async publish(): Promise<void> {
    for (const [name, slice] of this.slices) {
      const hasPort = slice.ports?.some((p) => (p.name ?? "") === this.portName) ?? false;
      if (!hasPort && (slice.endpoints?.length ?? 0) > 0 && !this.warnedNoPort.has(name)) {
        this.warnedNoPort.add(name);
        this.logger.warn({ slice: name, portName: this.portName, ports: slice.ports?.map((p) => p.name ?? "") }, "endpoint slice has no port with the expected name: its endpoints are not used");
      }
    }
    const addresses = readyAddresses(this.slices.values(), this.portName);
    if (addresses.join(",") === this.published.join(",")) return;
    this.logger.info({ addresses }, "worker endpoints changed");
    this.published = addresses;
    await this.poller.setAddresses(addresses);
  }

  private logFailure(what: "list" | "watch", err: unknown): void {
    const status = httpStatus(err);
    if (status === 401 || status === 403) {
      this.logger.error(
        { status },
        `RBAC forbids ${what} endpointslices in namespace "${this.options.namespace}": the router's service account needs a Role rule {apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"]}`,
      );
    } else {
      this.logger.warn({ status, err: (err as Error)?.message }, `endpoint slice ${what} failed: listing again after a backoff`);
    }
  }
}
