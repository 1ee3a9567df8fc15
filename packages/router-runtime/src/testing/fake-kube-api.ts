/**
 * TEST DOUBLE of the Kubernetes API server: NOT a real API server.
 *
 * There is no Kubernetes cluster on the machines the tests run on, so this is
 * a small node:http server on 127.0.0.1 (port chosen by the OS) that answers
 * the few endpoints the router uses, in the wire format the real API server
 * uses, so that the real @kubernetes/client-node code path (serialisation,
 * auth header, ApiException, Watch's NDJSON reader) runs against it:
 * - GET and PUT  /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale
 *   (autoscaling/v1 Scale; a PUT whose metadata.resourceVersion is not the
 *   current one is a 409 Conflict Status, as optimistic concurrency does);
 * - GET and PATCH /api/v1/namespaces/{ns}/pods/{name} (merge patch, strategic
 *   merge patch treated as a merge patch, and JSON patch on maps);
 * - GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices: a list, or
 *   with `watch=true` an NDJSON stream of ADDED / MODIFIED / DELETED events
 *   (from `resourceVersion` on, replayed from the history it keeps).
 *
 * What it models: one resourceVersion counter for the whole store (as etcd's
 * revision), bumped by every write; equality label selectors only
 * (`a=b,c=d`); a bearer token (401 without it); an RBAC switch that denies a
 * verb on a resource with the real 403 message; failures injected before the
 * next N matching requests (any status, or a concurrent writer that makes the
 * next scale writes conflict); and a log of every request (method, path,
 * query, content-type, body, status answered) for tests to assert on.
 * What it does not: no controllers run (changing a Deployment's replicas
 * creates or deletes no pod), no admission, no field validation, no TLS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as k8s from "@kubernetes/client-node";

export const FAKE_KUBE_TOKEN = "fake-kube-token";
export const FAKE_KUBE_USER = "system:serviceaccount:default:sigmaserve-router";

/** A Kubernetes verb, as RBAC rules name them. */
export type KubeVerb = "get" | "list" | "watch" | "update" | "patch";
/** A resource as RBAC rules name it (a subresource as `deployments/scale`). */
export type KubeResource = "deployments/scale" | "pods" | "endpointslices";

export interface RecordedKubeRequest {
  method: string;
  /** The URL's path, without the query. */
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** The body parsed as JSON when it is JSON, else the raw text; undefined when empty. */
  body: unknown;
  /** The status the fake answered with (200 for a watch that was opened). */
  status: number;
}

/** A failure answered instead of the next `times` requests for `verb` on `resource`. */
export interface InjectedFailure {
  verb: KubeVerb;
  resource: KubeResource;
  /** An HTTP status (500, 503, 429, ...) answered with a Status body, or "concurrent-write": another writer bumps the object first (PUT scale only, so the PUT conflicts for real). */
  failure: number | "concurrent-write";
  times: number;
  /** The request is carried out, and only then answered with `failure` (a response lost in flight: the write did happen). */
  afterApply?: boolean;
}

interface Deployment {
  replicas: number;
  resourceVersion: number;
}

interface Pod {
  annotations: Record<string, string>;
  labels: Record<string, string>;
  resourceVersion: number;
}

interface SliceEvent {
  namespace: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: k8s.V1EndpointSlice;
  resourceVersion: number;
}

interface OpenWatch {
  namespace: string;
  selector: Record<string, string>;
  res: ServerResponse;
}

const GROUPS: Record<KubeResource, { group: string; kind: string }> = {
  "deployments/scale": { group: "apps", kind: "deployments" },
  pods: { group: "", kind: "pods" },
  endpointslices: { group: "discovery.k8s.io", kind: "endpointslices" },
};

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Gone",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** A Status object as the API server writes it for a failure. */
function statusBody(code: number, message: string, details?: { name?: string; group: string; kind: string }): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: REASONS[code] ?? "Unknown", ...(details === undefined ? {} : { details }), code };
}

/** `kind.group` as the API server writes it in messages (`deployments.apps`, `pods`). */
function qualifiedKind(resource: KubeResource): string {
  const { group, kind } = GROUPS[resource];
  return group === "" ? kind : `${kind}.${group}`;
}

function parseSelector(selector: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const term of (selector ?? "").split(",").filter((t) => t !== "")) {
    const [key, value] = term.split("=", 2);
    if (key === undefined || value === undefined || key.endsWith("!")) throw new Error(`the fake API server supports equality selectors only, got "${term}"`);
    labels[key] = value;
  }
  return labels;
}

function matches(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RFC 6902 JSON patch, the add / replace / remove ops on objects (all the router could send). */
function jsonPatch(target: Record<string, unknown>, ops: Array<{ op: string; path: string; value?: unknown }>): Record<string, unknown> {
  const out = structuredClone(target);
  for (const { op, path, value } of ops) {
    const keys = path.split("/").slice(1).map((k) => k.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = keys.pop()!;
    let node = out;
    for (const key of keys) node = (node[key] ??= {}) as Record<string, unknown>;
    if (op === "remove") delete node[last];
    else if (op === "add" || op === "replace") node[last] = value;
    else throw new Error(`unsupported JSON patch op ${op}`);
  }
  return out;
}

export class FakeKubeApi {
  /** Every request, in arrival order. */
  readonly requests: RecordedKubeRequest[] = [];
  private revision = 1;
  private readonly deployments = new Map<string, Deployment>();
  private readonly pods = new Map<string, Pod>();
  private readonly slices = new Map<string, { namespace: string; slice: k8s.V1EndpointSlice }>();
  private readonly history: SliceEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly denied = new Set<string>();
  private readonly failures: InjectedFailure[] = [];

  private constructor(
    private readonly server: Server,
    /** http://127.0.0.1:PORT */
    readonly url: string,
    private readonly token: string,
    private readonly user: string,
  ) {}

  static async start(options: { token?: string; user?: string } = {}): Promise<FakeKubeApi> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const api = new FakeKubeApi(server, `http://127.0.0.1:${port}`, options.token ?? FAKE_KUBE_TOKEN, options.user ?? FAKE_KUBE_USER);
    server.on("request", (req, res) => void api.handle(req, res));
    return api;
  }

  // ---- the store, as tests set it up and read it back ----

  addDeployment(namespace: string, name: string, replicas: number): void {
    this.deployments.set(`${namespace}/${name}`, { replicas, resourceVersion: this.revision++ });
  }

  /** The Deployment's scale as stored, or undefined. */
  deployment(namespace: string, name: string): Readonly<Deployment> | undefined {
    const found = this.deployments.get(`${namespace}/${name}`);
    return found === undefined ? undefined : { ...found };
  }

  addPod(namespace: string, name: string, options: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): void {
    this.pods.set(`${namespace}/${name}`, { annotations: { ...options.annotations }, labels: { ...options.labels }, resourceVersion: this.revision++ });
  }

  pod(namespace: string, name: string): Readonly<Pod> | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Creates or replaces an EndpointSlice (by metadata.name) and sends ADDED or MODIFIED to the watches it matches. */
  putEndpointSlice(namespace: string, slice: k8s.V1EndpointSlice): void {
    const name = slice.metadata?.name;
    if (name === undefined) throw new Error("an EndpointSlice needs metadata.name");
    const key = `${namespace}/${name}`;
    const type = this.slices.has(key) ? "MODIFIED" : "ADDED";
    const stored = { ...structuredClone(slice), apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice" };
    stored.metadata = { ...stored.metadata, namespace, resourceVersion: String(this.revision++) };
    this.slices.set(key, { namespace, slice: stored });
    this.publish({ namespace, type, object: stored, resourceVersion: Number(stored.metadata.resourceVersion) });
  }

  deleteEndpointSlice(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const found = this.slices.get(key);
    if (found === undefined) return;
    this.slices.delete(key);
    const object = { ...found.slice, metadata: { ...found.slice.metadata, resourceVersion: String(this.revision++) } };
    this.publish({ namespace, type: "DELETED", object, resourceVersion: Number(object.metadata.resourceVersion) });
  }

  // ---- faults ----

  /** RBAC: `verb` on `resource` answers 403 Forbidden until allowed again. */
  deny(verb: KubeVerb, resource: KubeResource): void {
    this.denied.add(`${verb} ${resource}`);
  }

  allow(verb: KubeVerb, resource: KubeResource): void {
    this.denied.delete(`${verb} ${resource}`);
  }

  /** The next `times` requests for verb + resource fail this way; later ones are served. */
  inject(failure: InjectedFailure): void {
    this.failures.push({ ...failure });
  }

  /** Watches open now. */
  openWatches(): number {
    return this.watches.size;
  }

  /** Ends every open watch stream cleanly, as the API server does at a watch's timeout or on restart. Returns how many. */
  closeWatches(): number {
    const count = this.watches.size;
    for (const watch of this.watches) watch.res.end();
    this.watches.clear();
    return count;
  }

  /**
   * Sends every open watch an ERROR event carrying a 410 Expired Status and ends it, as the real server does
   * when a watch's resourceVersion has been compacted away. Returns how many.
   */
  expireWatches(): number {
    const count = this.watches.size;
    const status = { ...statusBody(410, `too old resource version: 1 (${this.revision - 1})`), reason: "Expired" };
    for (const watch of this.watches) watch.res.end(`${JSON.stringify({ type: "ERROR", object: status })}\n`);
    this.watches.clear();
    return count;
  }

  async close(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Keep-alive connections from the client's pool would hold close() open.
      this.server.closeAllConnections();
    });
  }

  // ---- serving ----

  private publish(event: SliceEvent): void {
    this.history.push(event);
    for (const watch of this.watches) this.send(watch, event);
  }

  private send(watch: OpenWatch, event: SliceEvent): void {
    if (event.namespace === watch.namespace && matches(event.object.metadata?.labels, watch.selector)) {
      watch.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", this.url);
    const contentType = req.headers["content-type"];
    let body: unknown = text === "" ? undefined : text;
    if (text !== "" && contentType?.includes("json")) {
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text; the handler answers 400.
      }
    }
    const record: RecordedKubeRequest = { method: req.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), contentType, body, status: 0 };
    this.requests.push(record);
    const answer = (status: number, payload: object) => {
      record.status = status;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
    };

    if (req.headers.authorization !== `Bearer ${this.token}`) return answer(401, statusBody(401, "Unauthorized"));
    const route = this.route(req.method ?? "", url);
    if (route === undefined) return answer(404, statusBody(404, `the fake API server does not serve ${req.method} ${url.pathname}`));
    const { verb, resource, namespace, name } = route;

    if (this.denied.has(`${verb} ${resource}`)) {
      const { group } = GROUPS[resource];
      const subject = name === undefined ? qualifiedKind(resource) : `${qualifiedKind(resource)} "${name}"`;
      const message = `${subject} is forbidden: User "${this.user}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`;
      return answer(403, statusBody(403, message, { ...(name === undefined ? {} : { name }), group, kind: GROUPS[resource].kind }));
    }
    let serve = answer;
    const injected = this.failures.find((f) => f.verb === verb && f.resource === resource && f.times > 0);
    if (injected !== undefined) {
      injected.times--;
      const { failure } = injected;
      if (failure === "concurrent-write") {
        // Another writer changed the Deployment since the client read it: the PUT below then conflicts for real.
        const deployment = this.deployments.get(`${namespace}/${name}`);
        if (deployment !== undefined) deployment.resourceVersion = this.revision++;
      } else if (injected.afterApply === true) {
        serve = () => answer(failure, statusBody(failure, `injected failure ${failure} for ${verb} ${resource}, after it was applied`));
      } else {
        return answer(failure, statusBody(failure, `injected failure ${failure} for ${verb} ${resource}`));
      }
    }

    if (resource === "deployments/scale") return this.serveScale(verb, namespace, name!, body, serve);
    if (resource === "pods") return this.servePod(verb, namespace, name!, contentType, body, serve);
    if (verb === "watch") return this.openWatch(namespace, url, res, record);
    return answer(200, this.listSlices(namespace, parseSelector(url.searchParams.get("labelSelector") ?? undefined)));
  }

  private route(method: string, url: URL): { verb: KubeVerb; resource: KubeResource; namespace: string; name?: string } | undefined {
    let m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/.exec(url.pathname);
    if (m !== null && (method === "GET" || method === "PUT")) return { verb: method === "GET" ? "get" : "update", resource: "deployments/scale", namespace: m[1]!, name: m[2]! };
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (m !== null && (method === "GET" || method === "PATCH")) return { verb: method === "GET" ? "get" : "patch", resource: "pods", namespace: m[1]!, name: m[2]! };
    m = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(url.pathname);
    if (m !== null && method === "GET") return { verb: url.searchParams.get("watch") === "true" ? "watch" : "list", resource: "endpointslices", namespace: m[1]! };
    return undefined;
  }

  private serveScale(verb: KubeVerb, namespace: string, name: string, body: unknown, answer: (status: number, payload: object) => void): void {
    const deployment = this.deployments.get(`${namespace}/${name}`);
    if (deployment === undefined) return answer(404, statusBody(404, `deployments.apps "${name}" not found`, { name, group: "apps", kind: "deployments" }));
    if (verb === "update") {
      const scale = body as { metadata?: { resourceVersion?: string }; spec?: { replicas?: number } } | undefined;
      const replicas = scale?.spec?.replicas;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) return answer(422, statusBody(422, `Scale.apps "${name}" is invalid: spec.replicas: Invalid value`));
      const sent = scale?.metadata?.resourceVersion;
      // An empty resourceVersion is an unconditional update, as on the real server.
      if (sent !== undefined && sent !== "" && sent !== String(deployment.resourceVersion)) {
        return answer(
          409,
          statusBody(409, `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
            name,
            group: "apps",
            kind: "deployments",
          }),
        );
      }
      deployment.replicas = replicas;
      deployment.resourceVersion = this.revision++;
    }
    answer(200, {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: { name, namespace, resourceVersion: String(deployment.resourceVersion) },
      spec: { replicas: deployment.replicas },
      status: { replicas: deployment.replicas, selector: `app=${name}` },
    });
  }

  private servePod(verb: KubeVerb, namespace: string, name: string, contentType: string | undefined, body: unknown, answer: (status: number, payload: object) => void): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (pod === undefined) return answer(404, statusBody(404, `pods "${name}" not found`, { name, group: "", kind: "pods" }));
    if (verb === "patch") {
      const current = { metadata: { annotations: pod.annotations, labels: pod.labels } };
      let patched: { metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> } };
      const type = contentType?.split(";")[0]?.trim();
      if (type === k8s.PatchStrategy.MergePatch || type === k8s.PatchStrategy.StrategicMergePatch) {
        if (body === null || typeof body !== "object") return answer(400, statusBody(400, "the patch is not a JSON object"));
        patched = mergePatch(current, body) as typeof patched;
      } else if (type === k8s.PatchStrategy.JsonPatch) {
        if (!Array.isArray(body)) return answer(400, statusBody(400, "a JSON patch is an array of operations"));
        patched = jsonPatch(current, body);
      } else {
        return answer(415, statusBody(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`));
      }
      pod.annotations = { ...patched.metadata?.annotations };
      pod.labels = { ...patched.metadata?.labels };
      pod.resourceVersion = this.revision++;
    }
    answer(200, {
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name, namespace, resourceVersion: String(pod.resourceVersion), annotations: pod.annotations, labels: pod.labels },
      spec: { containers: [{ name: "worker", image: "sigmaserve/worker" }] },
    });
  }

  private listSlices(namespace: string, selector: Record<string, string>): object {
    const items = [...this.slices.values()].filter((s) => s.namespace === namespace && matches(s.slice.metadata?.labels, selector)).map((s) => s.slice);
    // The list's resourceVersion is the store's revision: a watch from it sees every later write.
    return { kind: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1", metadata: { resourceVersion: String(this.revision - 1) }, items };
  }

  private openWatch(namespace: string, url: URL, res: ServerResponse, record: RecordedKubeRequest): void {
    const watch: OpenWatch = { namespace, selector: parseSelector(url.searchParams.get("labelSelector") ?? undefined), res };
    record.status = 200;
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    // As the real server: the headers go now, not with the first event (the client's watch() resolves on them).
    res.flushHeaders();
    // Without a resourceVersion the real server starts with a synthetic ADDED per object; with one, it replays what came after.
    const from = url.searchParams.get("resourceVersion");
    if (from === null || from === "" || from === "0") {
      for (const { slice } of this.slices.values()) this.send(watch, { namespace, type: "ADDED", object: slice, resourceVersion: 0 });
    } else {
      for (const event of this.history) if (event.resourceVersion > Number(from)) this.send(watch, event);
    }
    this.watches.add(watch);
    res.on("close", () => this.watches.delete(watch));
  }
}

/** A KubeConfig for the fake, as `kubectl` would have it: one cluster, one token user, one context. */
export function fakeKubeConfig(api: FakeKubeApi, options: { token?: string; namespace?: string } = {}): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: api.url, skipTLSVerify: true }],
    users: [{ name: "fake-user", token: options.token ?? FAKE_KUBE_TOKEN }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake-user", ...(options.namespace === undefined ? {} : { namespace: options.namespace }) }],
    currentContext: "fake",
  });
  return kc;
}
