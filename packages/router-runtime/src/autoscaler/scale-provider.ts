/**
 * ScaleProvider: how the autoscaler changes the number of workers, whatever
 * runs them. The autoscaler decides (autoscaler.ts); a provider only carries
 * out one step at a time:
 * - kubernetes (kubernetes/kubernetes-provider.ts): the worker Deployment's
 *   scale subresource, and the pod-deletion-cost annotation so that the pod
 *   the autoscaler drained is the one the ReplicaSet removes;
 * - local-process (local-process-provider.ts): worker processes on this
 *   machine (`sigmaserve up --autoscale MIN..MAX`).
 *
 * Scale-down is drain first, remove after: the autoscaler drains the chosen
 * worker with migration (its streams and hot prefixes move to peers) and
 * calls removeWorker only once it reports DRAINED with nothing running, so a
 * provider never removes a worker that still has streams.
 *
 * Failures are ScaleProviderError values with a kind the autoscaler acts on:
 * it logs them and tries again at its next interval; a provider retries what
 * is worth retrying at once (a 409 conflict: re-read, re-apply) itself.
 */

export interface ScaleProvider {
  /** "kubernetes" or "local-process", for logs and metrics. */
  readonly kind: string;
  /** How many workers the provider runs or is starting (the Deployment's spec.replicas; the processes alive). */
  desiredReplicas(): Promise<number>;
  /** Starts one more worker; resolves once it is asked for (the worker joins the registry when it is ready). */
  addWorker(): Promise<void>;
  /**
   * Removes this worker, which the autoscaler has already drained; resolves once the removal is asked for.
   * `workerId` is the id the worker registered under (on Kubernetes, its pod's name).
   */
  removeWorker(workerId: string): Promise<void>;
  /** Releases what the provider holds (watches, child processes it owns stay up unless it says otherwise). */
  close(): Promise<void>;
}

/**
 * Why a provider could not do a step:
 * - forbidden: the credentials lack a permission (RBAC 401/403); the message names the verb and resource;
 * - conflict: the object kept changing under us (409 after the provider's own retries);
 * - not_found: the Deployment, pod or process is not there (404);
 * - unavailable: the API or the machine could not be reached, or answered 5xx / timed out.
 */
export type ScaleProviderErrorKind = "forbidden" | "conflict" | "not_found" | "unavailable";

export class ScaleProviderError extends Error {
  override readonly name = "ScaleProviderError";
  constructor(
    readonly kind: ScaleProviderErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
