/**
 * KubernetesScaleProvider: workers are the pods of one Deployment, and a
 * step is a write to its scale subresource (autoscaling/v1 Scale).
 *
 * - Up: read the scale, PUT it back with replicas + 1 and the resourceVersion
 *   read (optimistic concurrency). A 409 means someone else (an HPA, another
 *   router, kubectl) wrote in between: read again and apply +1 to what is
 *   there now, up to `retry.attempts` times, then ScaleProviderError
 *   "conflict".
 * - Down: the autoscaler has drained the worker whose id is its pod's name.
 *   Its pod is first given the lowest pod-deletion-cost, so that the
 *   ReplicaSet deletes that pod when replicas drop, then the scale goes to
 *   replicas - 1 (same 409 handling), never below 0. If the pod is gone
 *   (404) nothing is scaled: the ReplicaSet would remove some other,
 *   undrained pod.
 * - Errors are typed once, here (`toScaleProviderError`): 401/403 →
 *   forbidden (the message names the missing RBAC rule, logged at error),
 *   404 → not_found, 409 → conflict, 429 / 5xx / refused / timed out →
 *   unavailable, retried with exponential backoff before it is thrown.
 *
 * NOTE: the pod-deletion-cost is a hint the ReplicaSet controller ranks
 * after "not scheduled", "pending" and "not ready": a pod that is starting
 * (not ready yet) is still removed before a drained one that reports ready.
 * The drained worker should fail its readiness probe.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { ScaleProviderError, type ScaleProvider } from "../scale-provider.js";

export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";
/** The lowest cost the annotation takes: its documented range is int32, [-2147483648, 2147483647]. */
export const LOWEST_POD_DELETION_COST = "-2147483648";
/** Where a pod's service account namespace is mounted. */
export const SERVICE_ACCOUNT_NAMESPACE_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Attempts per step, the first included (for 409 re-reads, and for 5xx / unreachable retries of one call). */
export const DEFAULT_KUBE_RETRY_ATTEMPTS = 5;
/** The first backoff, ms; it doubles per attempt up to MAX_KUBE_RETRY_DELAY_MS. */
export const DEFAULT_KUBE_RETRY_BASE_DELAY_MS = 200;
export const MAX_KUBE_RETRY_DELAY_MS = 5_000;
/** One API call's deadline, ms (the client has none of its own). */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 10_000;

export interface KubeRetryOptions {
  /** Attempts in all, the first included; at least 1. */
  attempts: number;
  baseDelayMs: number;
}

export interface KubernetesScaleProviderOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** The worker Deployment's name. */
  deployment: string;
  logger: Logger;
  retry?: KubeRetryOptions;
  requestTimeoutMs?: number;
}

/** One API call, as RBAC names it: for messages and logs. */
interface KubeCall {
  verb: "get" | "update" | "patch";
  resource: "deployments/scale" | "pods";
  apiGroup: "apps" | "";
  namespace: string;
  name: string;
}

/**
 * The cluster and namespace this process runs against: KUBECONFIG or
 * ~/.kube/config, else the in-cluster service account (kc.loadFromDefault).
 * The namespace, unless given: the service account's (the file every pod has
 * mounted), else the kubeconfig context's, else "default". Logged once.
 */
export function loadKubeEnvironment(options: { namespace?: string | undefined; namespaceFile?: string | undefined; logger: Logger }): { kubeConfig: k8s.KubeConfig; namespace: string } {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  let namespace = options.namespace;
  let from = "option";
  if (namespace === undefined) {
    try {
      namespace = readFileSync(options.namespaceFile ?? SERVICE_ACCOUNT_NAMESPACE_PATH, "utf8").trim() || undefined;
      from = "service account";
    } catch {
      // Not in a pod: the kubeconfig decides.
    }
  }
  if (namespace === undefined) {
    namespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
    from = "kubeconfig context";
  }
  if (namespace === undefined) {
    namespace = "default";
    from = "default";
  }
  options.logger.info({ namespace, namespaceFrom: from, server: kubeConfig.getCurrentCluster()?.server }, "kubernetes API configured");
  return { kubeConfig, namespace };
}

/** Request options for one call: a deadline, and a Content-Type when given (a patch's strategy). */
function requestOptions(timeoutMs: number, contentType?: string): k8s.ConfigurationOptions<k8s.ObservableMiddleware> {
  const deadline: k8s.ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  const options: k8s.ConfigurationOptions<k8s.ObservableMiddleware> = { middleware: [deadline], middlewareMergeStrategy: "append" };
  return contentType === undefined ? options : k8s.setHeaderOptions("Content-Type", contentType, options);
}

/** Network-level failures: refused, reset, DNS, our deadline. undici reports them as TypeError("fetch failed") with a cause. */
function isUnreachable(err: unknown): boolean {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return true;
  return err instanceof TypeError && err.message === "fetch failed";
}

/** The API server's own words, from a Status body (the client hands it over as text). */
function serverMessage(body: unknown): string | undefined {
  if (typeof body !== "string") return undefined;
  try {
    const status = JSON.parse(body) as { message?: unknown };
    return typeof status.message === "string" ? status.message : undefined;
  } catch {
    return undefined;
  }
}

function describe(call: KubeCall): string {
  return `${call.verb} ${call.resource} "${call.name}" in namespace "${call.namespace}"`;
}

/**
 * The one place an API failure becomes a ScaleProviderError. Anything else
 * (a bug: a body the client could not parse, a TypeError of ours) is rethrown as it is.
 */
export function toScaleProviderError(call: KubeCall, err: unknown): ScaleProviderError {
  if (err instanceof ScaleProviderError) return err;
  if (err instanceof k8s.ApiException) {
    const code = (err as k8s.ApiException<unknown>).code;
    const said = serverMessage((err as k8s.ApiException<unknown>).body);
    const suffix = said === undefined ? "" : ` (API server: ${said})`;
    if (code === 401) {
      return new ScaleProviderError("forbidden", `the Kubernetes API rejected the credentials (401 Unauthorized) for ${describe(call)}: check the service account token or KUBECONFIG`, { cause: err });
    }
    if (code === 403) {
      const rule = `apiGroups: ["${call.apiGroup}"], resources: ["${call.resource}"], verbs: ["${call.verb}"]`;
      return new ScaleProviderError(
        "forbidden",
        `RBAC forbids ${describe(call)}: the router's service account needs a Role rule {${rule}} (${call.verb} ${call.resource} in namespace ${call.namespace})${suffix}`,
        { cause: err },
      );
    }
    if (code === 404) return new ScaleProviderError("not_found", `${call.resource} "${call.name}" not found in namespace "${call.namespace}"${suffix}`, { cause: err });
    if (code === 409) return new ScaleProviderError("conflict", `${describe(call)} conflicted: the object changed since it was read${suffix}`, { cause: err });
    // 429 and 5xx are the server's trouble; any other 4xx is a request it will never accept, reported (not retried) as unavailable.
    return new ScaleProviderError("unavailable", `the Kubernetes API answered ${code} to ${describe(call)}${suffix}`, { cause: err });
  }
  if (isUnreachable(err)) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return new ScaleProviderError("unavailable", `the Kubernetes API could not be reached for ${describe(call)} (${cause})`, { cause: err });
  }
  throw err;
}

/** Worth retrying the same call: the server was busy or unreachable. */
function isTransient(err: ScaleProviderError): boolean {
  if (err.kind !== "unavailable") return false;
  const code = err.cause instanceof k8s.ApiException ? (err.cause as k8s.ApiException<unknown>).code : undefined;
  return code === undefined || code === 429 || code >= 500;
}

export class KubernetesScaleProvider implements ScaleProvider {
  readonly kind = "kubernetes";
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly namespace: string;
  private readonly deployment: string;
  private readonly logger: Logger;
  private readonly retry: KubeRetryOptions;
  private readonly requestTimeoutMs: number;

  constructor(options: KubernetesScaleProviderOptions) {
    this.apps = options.kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.namespace = options.namespace;
    this.deployment = options.deployment;
    this.logger = options.logger.child({ provider: "kubernetes", namespace: options.namespace, deployment: options.deployment });
    this.retry = options.retry ?? { attempts: DEFAULT_KUBE_RETRY_ATTEMPTS, baseDelayMs: DEFAULT_KUBE_RETRY_BASE_DELAY_MS };
    if (!(this.retry.attempts >= 1)) throw new RangeError(`retry.attempts must be at least 1, got ${this.retry.attempts}`);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS;
  }

  /** From the process's environment: see loadKubeEnvironment. */
  static fromEnvironment(
    options: Omit<KubernetesScaleProviderOptions, "kubeConfig" | "namespace"> & { namespace?: string; namespaceFile?: string },
  ): KubernetesScaleProvider {
    const { namespaceFile, namespace: given, ...rest } = options;
    const { kubeConfig, namespace } = loadKubeEnvironment({ namespace: given, namespaceFile, logger: options.logger });
    return new KubernetesScaleProvider({ ...rest, kubeConfig, namespace });
  }

  async desiredReplicas(): Promise<number> {
    return (await this.readScale()).spec?.replicas ?? 0;
  }

  async addWorker(): Promise<void> {
    await this.changeReplicas(+1, undefined);
  }

  async removeWorker(workerId: string): Promise<void> {
    const call: KubeCall = { verb: "patch", resource: "pods", apiGroup: "", namespace: this.namespace, name: workerId };
    // A merge patch of one annotation: idempotent, so it is safe to retry, and it leaves the pod's other annotations alone.
    const body = { metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: LOWEST_POD_DELETION_COST } } };
    try {
      await this.call(call, true, (options) => this.core.patchNamespacedPod({ name: workerId, namespace: this.namespace, body }, options), k8s.PatchStrategy.MergePatch);
    } catch (err) {
      if (err instanceof ScaleProviderError && err.kind === "not_found") {
        throw new ScaleProviderError("not_found", `pod "${workerId}" not found in namespace "${this.namespace}": not scaling down, or the ReplicaSet would remove another pod`, { cause: err });
      }
      throw err;
    }
    this.logger.info({ pod: workerId, cost: LOWEST_POD_DELETION_COST }, "marked the drained worker's pod to be removed first");
    await this.changeReplicas(-1, workerId);
  }

  async close(): Promise<void> {
    // Nothing held: every call is a plain request.
  }

  private async readScale(): Promise<k8s.V1Scale> {
    const call: KubeCall = { verb: "get", resource: "deployments/scale", apiGroup: "apps", namespace: this.namespace, name: this.deployment };
    return this.call(call, true, (options) => this.apps.readNamespacedDeploymentScale({ name: this.deployment, namespace: this.namespace }, options));
  }

  /**
   * Read, then write replicas + delta at the resourceVersion read; on a
   * conflict or a failed write, read again and re-apply, `retry.attempts`
   * times in all.
   * NOTE: a write that failed in flight (5xx, timeout) may still have been
   * applied. The write is not repeated blindly: the next read decides, and
   * if it already shows the target the step is taken as done, so one call
   * never adds or removes two workers.
   */
  private async changeReplicas(delta: 1 | -1, workerId: string | undefined): Promise<void> {
    const call: KubeCall = { verb: "update", resource: "deployments/scale", apiGroup: "apps", namespace: this.namespace, name: this.deployment };
    let target: number | undefined;
    let last: ScaleProviderError | undefined;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      const scale = await this.readScale();
      const current = scale.spec?.replicas ?? 0;
      if (last?.kind === "unavailable" && current === target) {
        this.logger.info({ replicas: current }, "the earlier scale write had been applied");
        return;
      }
      target = Math.max(0, current + delta);
      if (target === current) {
        this.logger.warn({ replicas: current, pod: workerId }, "deployment already at 0 replicas: nothing to remove");
        return;
      }
      const body: k8s.V1Scale = { ...scale, spec: { ...scale.spec, replicas: target } };
      try {
        await this.call(call, false, (options) => this.apps.replaceNamespacedDeploymentScale({ name: this.deployment, namespace: this.namespace, body }, options));
        this.logger.info({ from: current, to: target, pod: workerId }, "scaled the worker deployment");
        return;
      } catch (err) {
        if (!(err instanceof ScaleProviderError) || (err.kind !== "conflict" && !isTransient(err))) throw err;
        last = err;
        if (attempt === this.retry.attempts) break;
        const delayMs = this.backoffMs(attempt);
        this.logger.warn({ attempt, attempts: this.retry.attempts, delayMs, kind: err.kind, err: err.message }, `scale write failed (${err.kind}): re-reading and re-applying`);
        await sleep(delayMs);
      }
    }
    throw new ScaleProviderError(last!.kind, `${describe(call)}: gave up after ${this.retry.attempts} attempts: ${last!.message}`, { cause: last });
  }

  /**
   * One API call with its deadline. Transient failures (429, 5xx, unreachable)
   * are retried with backoff when `retryTransient`; the final failure is
   * thrown as a ScaleProviderError, and a forbidden one is logged at error
   * once, since it needs a person to fix the RBAC rules.
   */
  private async call<T>(call: KubeCall, retryTransient: boolean, send: (options: k8s.ConfigurationOptions<k8s.ObservableMiddleware>) => Promise<T>, contentType?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        // NOTE: per-call middleware must be the Observable kind (setHeaderOptions' kind): the object API runs it as given.
        return await send(requestOptions(this.requestTimeoutMs, contentType));
      } catch (err) {
        const failure = toScaleProviderError(call, err);
        if (failure.kind === "forbidden") this.logger.error({ verb: call.verb, resource: call.resource, name: call.name }, failure.message);
        if (!retryTransient || !isTransient(failure) || attempt >= this.retry.attempts) throw failure;
        const delayMs = this.backoffMs(attempt);
        this.logger.warn({ attempt, attempts: this.retry.attempts, delayMs, err: failure.message }, `kubernetes API unavailable: retrying ${call.verb} ${call.resource}`);
        await sleep(delayMs);
      }
    }
  }

  private backoffMs(attempt: number): number {
    return Math.min(MAX_KUBE_RETRY_DELAY_MS, this.retry.baseDelayMs * 2 ** (attempt - 1));
  }
}
