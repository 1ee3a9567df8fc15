/**
 * KubernetesScaleProvider against FakeKubeApi (a labelled test double of the
 * API server, see testing/fake-kube-api.ts): the real @kubernetes/client-node
 * sends real HTTP, and each test asserts the exact requests it saw, in order,
 * and what the store holds afterwards.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { pino, type Logger } from "pino";
import { FAKE_KUBE_TOKEN, FakeKubeApi, fakeKubeConfig, type RecordedKubeRequest } from "../../testing/fake-kube-api.js";
import { ScaleProviderError } from "../scale-provider.js";
import { KubernetesScaleProvider, LOWEST_POD_DELETION_COST, POD_DELETION_COST_ANNOTATION } from "./kubernetes-provider.js";

const NS = "serving";
const DEPLOYMENT = "sigmaserve-worker";
const SCALE_PATH = `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOYMENT}/scale`;
/** Short backoffs: the retry logic is under test, not the waiting. */
const RETRY = { attempts: 3, baseDelayMs: 1 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose lines land in `lines`, parsed. */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

async function setup(options: { replicas?: number; pods?: string[]; token?: string } = {}) {
  const api = await FakeKubeApi.start();
  cleanups.push(() => api.close());
  api.addDeployment(NS, DEPLOYMENT, options.replicas ?? 2);
  for (const pod of options.pods ?? []) api.addPod(NS, pod, { annotations: { "prometheus.io/scrape": "true" } });
  const { logger, lines } = capturingLogger();
  const provider = new KubernetesScaleProvider({ kubeConfig: fakeKubeConfig(api, options.token === undefined ? {} : { token: options.token }), namespace: NS, deployment: DEPLOYMENT, logger, retry: RETRY });
  cleanups.push(() => provider.close());
  return { api, provider, lines };
}

/** "METHOD path" of each request, for order assertions. */
function calls(requests: RecordedKubeRequest[]): string[] {
  return requests.map((r) => `${r.method} ${r.path}`);
}

async function rejectsWith(promise: Promise<unknown>, kind: ScaleProviderError["kind"]): Promise<ScaleProviderError> {
  const err = await promise.then(
    () => assert.fail(`expected a ScaleProviderError "${kind}"`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ScaleProviderError, `expected a ScaleProviderError, got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  return err;
}

test("kubernetes provider - desiredReplicas is the scale's spec.replicas; addWorker reads the scale, then PUTs replicas + 1 at the resourceVersion read", async () => {
  const { api, provider } = await setup({ replicas: 2 });
  assert.equal(await provider.desiredReplicas(), 2);
  const readVersion = String(api.deployment(NS, DEPLOYMENT)!.resourceVersion);

  await provider.addWorker();

  assert.deepEqual(calls(api.requests), [`GET ${SCALE_PATH}`, `GET ${SCALE_PATH}`, `PUT ${SCALE_PATH}`]);
  const put = api.requests[2]!;
  assert.equal(put.contentType, "application/json");
  const body = put.body as { kind: string; apiVersion: string; metadata: { name: string; namespace: string; resourceVersion: string }; spec: { replicas: number } };
  assert.equal(body.kind, "Scale");
  assert.equal(body.apiVersion, "autoscaling/v1");
  assert.deepEqual([body.metadata.name, body.metadata.namespace, body.metadata.resourceVersion], [DEPLOYMENT, NS, readVersion]);
  assert.equal(body.spec.replicas, 3);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 3);
  assert.equal(await provider.desiredReplicas(), 3);
});

test("kubernetes provider - removeWorker gives the worker's pod the lowest deletion cost by merge patch, then PUTs replicas - 1", async () => {
  const { api, provider } = await setup({ replicas: 3, pods: ["worker-a", "worker-b"] });

  await provider.removeWorker("worker-b");

  assert.deepEqual(calls(api.requests), [`PATCH /api/v1/namespaces/${NS}/pods/worker-b`, `GET ${SCALE_PATH}`, `PUT ${SCALE_PATH}`]);
  const patch = api.requests[0]!;
  assert.equal(patch.contentType, "application/merge-patch+json");
  assert.deepEqual(patch.body, { metadata: { annotations: { "controller.kubernetes.io/pod-deletion-cost": "-2147483648" } } });
  assert.equal(POD_DELETION_COST_ANNOTATION, "controller.kubernetes.io/pod-deletion-cost");
  assert.equal(LOWEST_POD_DELETION_COST, String(-(2 ** 31)));
  // The merge patch leaves the pod's other annotations, and the other pod, alone.
  assert.deepEqual(api.pod(NS, "worker-b")!.annotations, { "prometheus.io/scrape": "true", [POD_DELETION_COST_ANNOTATION]: "-2147483648" });
  assert.deepEqual(api.pod(NS, "worker-a")!.annotations, { "prometheus.io/scrape": "true" });
  assert.equal((api.requests[2]!.body as { spec: { replicas: number } }).spec.replicas, 2);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 2);
});

test("kubernetes provider - two 409 conflicts (another writer in between), then success: each retry re-reads, is logged, and +1 lands once", async () => {
  const { api, provider, lines } = await setup({ replicas: 4 });
  api.inject({ verb: "update", resource: "deployments/scale", failure: "concurrent-write", times: 2 });

  await provider.addWorker();

  assert.deepEqual(calls(api.requests), [`GET ${SCALE_PATH}`, `PUT ${SCALE_PATH}`, `GET ${SCALE_PATH}`, `PUT ${SCALE_PATH}`, `GET ${SCALE_PATH}`, `PUT ${SCALE_PATH}`]);
  assert.deepEqual(
    api.requests.filter((r) => r.method === "PUT").map((r) => r.status),
    [409, 409, 200],
  );
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 5);
  const retries = lines.filter((l) => l.msg.startsWith("scale write failed (conflict)"));
  assert.deepEqual(
    retries.map((l) => [l.level, l.attempt]),
    [
      [40, 1],
      [40, 2],
    ],
  );
});

test("kubernetes provider - a scale that conflicts on every attempt ends in ScaleProviderError conflict, replicas untouched", async () => {
  const { api, provider } = await setup({ replicas: 4 });
  api.inject({ verb: "update", resource: "deployments/scale", failure: "concurrent-write", times: 1_000 });

  const err = await rejectsWith(provider.addWorker(), "conflict");

  assert.match(err.message, /gave up after 3 attempts/);
  assert.equal(api.requests.filter((r) => r.method === "PUT").length, RETRY.attempts);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 4);
});

test("kubernetes provider - RBAC denies patching pods: ScaleProviderError forbidden naming the missing rule, logged once at error, and no scale change", async () => {
  const { api, provider, lines } = await setup({ replicas: 3, pods: ["worker-a"] });
  api.deny("patch", "pods");

  const err = await rejectsWith(provider.removeWorker("worker-a"), "forbidden");

  assert.match(err.message, /RBAC forbids patch pods "worker-a" in namespace "serving"/);
  assert.match(err.message, /\(patch pods in namespace serving\)/);
  assert.match(err.message, /apiGroups: \[""\], resources: \["pods"\], verbs: \["patch"\]/);
  // The API server's own words are kept.
  assert.match(err.message, /pods "worker-a" is forbidden: User "system:serviceaccount:default:sigmaserve-router" cannot patch resource "pods" in API group "" in the namespace "serving"/);
  assert.deepEqual(calls(api.requests), [`PATCH /api/v1/namespaces/${NS}/pods/worker-a`]);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 3);
  const errors = lines.filter((l) => l.level === 50);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.msg, err.message);
});

test("kubernetes provider - RBAC denies updating the scale: forbidden names deployments/scale in group apps", async () => {
  const { api, provider } = await setup({ replicas: 1 });
  api.deny("update", "deployments/scale");

  const err = await rejectsWith(provider.addWorker(), "forbidden");

  assert.match(err.message, /\(update deployments\/scale in namespace serving\)/);
  assert.match(err.message, /apiGroups: \["apps"\]/);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 1);
});

test("kubernetes provider - a wrong token (401) is forbidden too, and says to check the credentials", async () => {
  const { provider } = await setup({ token: "not-the-token" });
  const err = await rejectsWith(provider.desiredReplicas(), "forbidden");
  assert.match(err.message, /401 Unauthorized/);
});

test("kubernetes provider - removing a worker whose pod is gone (404) is not_found, and nothing is scaled down", async () => {
  const { api, provider } = await setup({ replicas: 3, pods: ["worker-a"] });

  const err = await rejectsWith(provider.removeWorker("worker-gone"), "not_found");

  assert.match(err.message, /pod "worker-gone" not found in namespace "serving": not scaling down/);
  assert.deepEqual(calls(api.requests), [`PATCH /api/v1/namespaces/${NS}/pods/worker-gone`]);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 3);
});

test("kubernetes provider - a missing Deployment is not_found", async () => {
  const { api } = await setup();
  const provider = new KubernetesScaleProvider({ kubeConfig: fakeKubeConfig(api), namespace: NS, deployment: "no-such-deployment", logger: pino({ level: "silent" }), retry: RETRY });

  const err = await rejectsWith(provider.addWorker(), "not_found");

  assert.match(err.message, /deployments\/scale "no-such-deployment" not found in namespace "serving"/);
  assert.deepEqual(calls(api.requests), [`GET /apis/apps/v1/namespaces/${NS}/deployments/no-such-deployment/scale`]);
});

test("kubernetes provider - 503 on the read and 500 on the write, then success: retried, and +1 applied exactly once", async () => {
  const { api, provider, lines } = await setup({ replicas: 2 });
  api.inject({ verb: "get", resource: "deployments/scale", failure: 503, times: 1 });
  api.inject({ verb: "update", resource: "deployments/scale", failure: 500, times: 1 });

  await provider.addWorker();

  assert.deepEqual(
    api.requests.map((r) => `${r.method} ${r.status}`),
    ["GET 503", "GET 200", "PUT 500", "GET 200", "PUT 200"],
  );
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 3);
  assert.equal(lines.filter((l) => l.level === 40).length, 2);
});

test("kubernetes provider - a scale write applied but answered 504 (response lost): the re-read shows the target, so it is not applied twice", async () => {
  const { api, provider, lines } = await setup({ replicas: 2 });
  api.inject({ verb: "update", resource: "deployments/scale", failure: 504, times: 1, afterApply: true });

  await provider.addWorker();

  assert.deepEqual(
    api.requests.map((r) => `${r.method} ${r.status}`),
    ["GET 200", "PUT 504", "GET 200"],
  );
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 3);
  assert.ok(lines.some((l) => l.msg === "the earlier scale write had been applied"));
});

test("kubernetes provider - the API down for good (connection refused) is unavailable after the retries", async () => {
  const { api, provider } = await setup();
  await api.close();

  const err = await rejectsWith(provider.desiredReplicas(), "unavailable");

  assert.match(err.message, /could not be reached for get deployments\/scale "sigmaserve-worker" in namespace "serving" \(ECONNREFUSED\)/);
});

test("kubernetes provider - removing a worker at 0 replicas never writes a negative count", async () => {
  const { api, provider } = await setup({ replicas: 0, pods: ["worker-a"] });
  await provider.removeWorker("worker-a");
  assert.equal(api.requests.filter((r) => r.method === "PUT").length, 0);
  assert.equal(api.deployment(NS, DEPLOYMENT)!.replicas, 0);
});

test("kubernetes provider - fromEnvironment loads KUBECONFIG and takes the namespace from the service account file", async () => {
  const api = await FakeKubeApi.start();
  cleanups.push(() => api.close());
  api.addDeployment(NS, DEPLOYMENT, 7);
  const dir = mkdtempSync(join(tmpdir(), "sigmaserve-kube-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfigPath = join(dir, "config");
  writeFileSync(
    kubeconfigPath,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: fake, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: fake, user: {token: ${FAKE_KUBE_TOKEN}}}]`,
      "contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: from-context}}]",
      "current-context: fake",
      "",
    ].join("\n"),
  );
  const namespaceFile = join(dir, "namespace");
  writeFileSync(namespaceFile, `${NS}\n`);
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfigPath;
  cleanups.push(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  const { logger, lines } = capturingLogger();

  const provider = KubernetesScaleProvider.fromEnvironment({ deployment: DEPLOYMENT, logger, retry: RETRY, namespaceFile });

  assert.equal(await provider.desiredReplicas(), 7);
  assert.deepEqual(calls(api.requests), [`GET ${SCALE_PATH}`]);
  const configured = lines.find((l) => l.msg === "kubernetes API configured")!;
  assert.deepEqual([configured.namespace, configured.namespaceFrom], [NS, "service account"]);

  // Without the file, the kubeconfig context's namespace.
  const fromContext = KubernetesScaleProvider.fromEnvironment({ deployment: DEPLOYMENT, logger, namespaceFile: join(dir, "absent") });
  void fromContext;
  assert.deepEqual(
    lines.filter((l) => l.msg === "kubernetes API configured").map((l) => l.namespace),
    [NS, "from-context"],
  );
});
