/**
 * What surrounds the router and the workers: NATS (in the chart or external), NetworkPolicies, PDBs,
 * ServiceMonitors, the KEDA ScaledObject, and scheduling settings that reach every pod, the `helm test`
 * hook pod included (hook pods without the cluster's tolerations block installs on tainted clusters).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { type K8sObject, find, NAMES, ofKind, podSpec, render, VALUES_FILES } from "./testing/helm.js";

const selector = (component: string) => ({ "app.kubernetes.io/name": "sigmaserve", "app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": component });

function podSpecs(objects: readonly K8sObject[]): [string, any][] {
  return objects.filter((o) => ["Deployment", "StatefulSet", "Job", "Pod"].includes(o.kind)).map((o) => [`${o.kind}/${o.metadata.name}`, podSpec(o)]);
}

test("nats - in the chart: a JetStream StatefulSet with its config and a volume claim, token auth by default", async () => {
  const objects = await render([]);
  const sts = find(objects, "StatefulSet", NAMES.nats);
  const container = podSpec(sts).containers[0];
  assert.match(container.image, /^nats:2\.[0-9]+-alpine$/);
  assert.deepEqual(container.command, ["nats-server", "--config", "/etc/nats/nats.conf"]);
  assert.equal(sts.spec.serviceName, `${NAMES.nats}-headless`);
  assert.deepEqual(sts.spec.volumeClaimTemplates[0].spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } });
  const conf: string = find(objects, "ConfigMap", NAMES.nats).data["nats.conf"];
  assert.match(conf, /jetstream \{\n\s+# [^\n]*\n\s+store_dir: "\/data"/);
  assert.match(conf, /max_payload: 2MB/);
  assert.match(conf, /authorization \{\n\s+token: \$NATS_TOKEN\n\s*\}/);
  assert.deepEqual(container.env, [{ name: "NATS_TOKEN", valueFrom: { secretKeyRef: { name: `${NAMES.nats}-auth`, key: "token" } } }]);
  const none = find(await render([], ["nats.internal.auth.type=none"]), "ConfigMap", NAMES.nats).data["nats.conf"];
  assert.doesNotMatch(none, /authorization/);
});

test("nats - token or user/password auth: the server reads them from the Secret, the clients' URL refers to them", async () => {
  const token = await render(["ci/router-autoscaler-values.yaml"]);
  assert.match(find(token, "ConfigMap", NAMES.nats).data["nats.conf"], /authorization \{\n\s+token: \$NATS_TOKEN\n\s*\}/);
  const secret = find(token, "Secret", `${NAMES.nats}-auth`);
  assert.match(Buffer.from(secret.data.token, "base64").toString(), /^[A-Za-z0-9]{40}$/);
  const worker = podSpec(find(token, "Deployment", NAMES.worker)).containers[0];
  const env = worker.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]);
  const at = (name: string) => env.findIndex(([n]: [string]) => n === name);
  assert.deepEqual(env[at("NATS_TOKEN")][1], { secretKeyRef: { name: `${NAMES.nats}-auth`, key: "token" } });
  assert.equal(env[at("SIGMASERVE_WORKER_NATS")][1], "nats://$(NATS_TOKEN)@demo-sigmaserve-nats.serving.svc:4222");
  assert.ok(at("NATS_TOKEN") < at("SIGMASERVE_WORKER_NATS"), "defined before the URL that refers to it");

  const userPassword = await render(["ci/minimal-values.yaml"]);
  assert.match(find(userPassword, "ConfigMap", NAMES.nats).data["nats.conf"], /user: \$NATS_USER\n\s+password: \$NATS_PASSWORD/);
  const router = podSpec(find(userPassword, "Deployment", NAMES.router)).containers[0];
  assert.equal(router.env.find((e: { name: string }) => e.name === "SIGMASERVE_ROUTER_NATS").value, "nats://$(NATS_USER):$(NATS_PASSWORD)@demo-sigmaserve-nats.serving.svc:4222");
  // Without persistence the store is an emptyDir.
  const sts = find(userPassword, "StatefulSet", NAMES.nats);
  assert.equal(sts.spec.volumeClaimTemplates, undefined);
  assert.deepEqual(podSpec(sts).volumes.find((v: { name: string }) => v.name === "data"), { name: "data", emptyDir: {} });
});

/** Debian's nats-server (.ci/run installs it), if this machine has one. */
function natsServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  return dirs.map((dir) => join(dir, "nats-server")).find((path) => existsSync(path));
}

test("nats - nats-server accepts the rendered nats.conf, with each kind of auth", async (t) => {
  const binary = natsServer();
  if (binary === undefined) return t.skip("no nats-server on this machine");
  const dir = mkdtempSync(join(tmpdir(), "sigmaserve-nats-conf-"));
  try {
    for (const auth of ["none", "token", "userPassword"]) {
      const conf: string = find(await render([], [`nats.internal.auth.type=${auth}`]), "ConfigMap", NAMES.nats).data["nats.conf"];
      const file = join(dir, `${auth}.conf`);
      // store_dir is the pod's volume; -t only parses, so it need not exist here.
      writeFileSync(file, conf);
      const env = { ...process.env, NATS_TOKEN: "t0ken", NATS_USER: "sigmaserve", NATS_PASSWORD: "pa55word" };
      const { stdout, stderr } = await promisify(execFile)(binary, ["-t", "-c", file], { env });
      assert.match(stdout + stderr, /configuration file .* is valid/, auth);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("nats - external: no NATS objects; the URL (with its credentials) comes from the named Secret", async () => {
  const objects = await render(["ci/external-nats-values.yaml"]);
  assert.deepEqual(
    objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] === "nats"),
    [],
  );
  for (const [name, variable] of [
    [NAMES.router, "SIGMASERVE_ROUTER_NATS"],
    [NAMES.worker, "SIGMASERVE_WORKER_NATS"],
  ] as const) {
    const container = podSpec(find(objects, "Deployment", name)).containers[0];
    assert.deepEqual(container.env.find((e: { name: string }) => e.name === variable).valueFrom, { secretKeyRef: { name: "nats-client", key: "url" } });
  }
  const plain = await render([], ["nats.internal.enabled=false", "nats.external.url=nats://nats.infra.svc:4222"]);
  const worker = podSpec(find(plain, "Deployment", NAMES.worker)).containers[0];
  assert.equal(worker.env.find((e: { name: string }) => e.name === "SIGMASERVE_WORKER_NATS").value, "nats://nats.infra.svc:4222");
});

test("network policy - workers take gRPC from routers and workers only, metrics from the namespace; NATS only from the release", async () => {
  const objects = await render([]);
  const worker = find(objects, "NetworkPolicy", NAMES.worker);
  assert.deepEqual(worker.spec.podSelector, { matchLabels: selector("worker") });
  assert.deepEqual(worker.spec.policyTypes, ["Ingress"]);
  assert.deepEqual(worker.spec.ingress, [
    { from: [{ podSelector: { matchLabels: selector("router") } }, { podSelector: { matchLabels: selector("worker") } }], ports: [{ port: 50061, protocol: "TCP" }] },
    { from: [{ podSelector: {} }], ports: [{ port: 9400, protocol: "TCP" }] },
  ]);
  const nats = find(objects, "NetworkPolicy", NAMES.nats);
  assert.deepEqual(nats.spec.ingress, [
    { from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "sigmaserve", "app.kubernetes.io/instance": "demo" } } }], ports: [{ port: 4222, protocol: "TCP" }] },
    { from: [{ podSelector: {} }], ports: [{ port: 8222, protocol: "TCP" }] },
  ]);
  const router = find(objects, "NetworkPolicy", NAMES.router);
  assert.deepEqual(router.spec.ingress, [{ ports: [{ port: 50051, protocol: "TCP" }, { port: 8000, protocol: "TCP" }] }]);

  // Router clients limited: those peers and the helm test pod on both ports, metrics scrapers on the HTTP port.
  const limited = find(await render(["ci/router-hpa-values.yaml"]), "NetworkPolicy", NAMES.router);
  assert.deepEqual(limited.spec.ingress, [
    {
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }, { podSelector: { matchLabels: selector("test") } }],
      ports: [
        { port: 50051, protocol: "TCP" },
        { port: 8000, protocol: "TCP" },
      ],
    },
    { from: [{ podSelector: {} }], ports: [{ port: 8000, protocol: "TCP" }] },
  ]);
  assert.deepEqual(find(await render([]), "Pod", NAMES.test).metadata.labels?.["app.kubernetes.io/component"], "test");
  // A monitoring namespace instead of the release's own; no NATS policy without the chart's NATS; none at all when off.
  const keda = await render(["ci/keda-values.yaml"]);
  assert.deepEqual(find(keda, "NetworkPolicy", NAMES.worker).spec.ingress[1].from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }]);
  assert.deepEqual(ofKind(await render(["ci/external-nats-values.yaml"]), "NetworkPolicy").map((o) => o.metadata.name).sort(), [NAMES.router, NAMES.worker]);
  assert.deepEqual(ofKind(await render(["ci/minimal-values.yaml"]), "NetworkPolicy"), []);
});

test("pdb - one voluntary disruption at a time for routers and for workers (maxUnavailable, so a single replica never blocks a node drain)", async () => {
  const objects = await render([]);
  for (const [name, component] of [
    [NAMES.router, "router"],
    [NAMES.worker, "worker"],
  ] as const) {
    const pdb = find(objects, "PodDisruptionBudget", name);
    assert.deepEqual(pdb.spec, { maxUnavailable: 1, selector: { matchLabels: selector(component) } });
  }
  assert.deepEqual(ofKind(await render(["ci/minimal-values.yaml"]), "PodDisruptionBudget"), []);
});

test("keda - a ScaledObject on vllm:num_requests_waiting targets the worker Deployment; kvUsage reads sigmaserve_kv_usage_ratio by component", async () => {
  const queue = find(await render(["ci/keda-values.yaml"]), "ScaledObject", NAMES.worker);
  assert.equal(queue.apiVersion, "keda.sh/v1alpha1");
  assert.deepEqual(queue.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: NAMES.worker });
  assert.equal(queue.spec.minReplicaCount, 2);
  assert.equal(queue.spec.maxReplicaCount, 8);
  assert.deepEqual(queue.spec.fallback, { failureThreshold: 3, replicas: 2 });
  assert.deepEqual(queue.spec.triggers, [
    {
      type: "prometheus",
      metricType: "AverageValue",
      metadata: {
        serverAddress: "http://prometheus-operated.monitoring.svc:9090",
        query: 'sum(vllm:num_requests_waiting{namespace="serving",service="demo-sigmaserve-worker"})',
        threshold: "4",
      },
    },
  ]);
  const kv = find(await render(["ci/keda-kv-usage-values.yaml"]), "ScaledObject", NAMES.worker);
  assert.deepEqual(kv.spec.triggers[0].metadata.query, 'avg(sigmaserve_kv_usage_ratio{namespace="serving",service="demo-sigmaserve-worker",component="k",tier="device"})');
  assert.equal(kv.spec.triggers[0].metricType, "Value");
  assert.equal(kv.spec.triggers[0].metadata.threshold, "0.75");
  for (const files of [[], ["ci/router-autoscaler-values.yaml"]]) assert.deepEqual(ofKind(await render(files), "ScaledObject"), [], `${files}`);
});

test("service monitors - router /metrics on its HTTP port, workers on their metrics port, with the extra labels", async () => {
  const objects = await render(["ci/keda-values.yaml"]);
  const monitors = ofKind(objects, "ServiceMonitor");
  assert.deepEqual(
    monitors.map((m) => [m.metadata.name, m.spec.selector.matchLabels["app.kubernetes.io/component"], m.spec.endpoints[0].port, m.spec.endpoints[0].path, m.metadata.labels?.release]),
    [
      ["demo-sigmaserve-router", "router", "http", "/metrics", "kube-prometheus-stack"],
      ["demo-sigmaserve-worker", "worker", "metrics", "/metrics", "kube-prometheus-stack"],
    ],
  );
  // Each selects a Service that has the port it names.
  for (const monitor of monitors) {
    const service = ofKind(objects, "Service").find((s) => JSON.stringify(s.spec.selector) === JSON.stringify(monitor.spec.selector.matchLabels) && s.spec.clusterIP !== "None" === (monitor.metadata.name === NAMES.router));
    assert.ok(service?.spec.ports.some((p: { name: string }) => p.name === monitor.spec.endpoints[0].port), monitor.metadata.name);
  }
  assert.deepEqual(ofKind(await render([]), "ServiceMonitor"), []);
});

test("scheduling - global tolerations and nodeSelector reach every pod spec, the helm test hook included; every container has resources", async () => {
  for (const file of VALUES_FILES) {
    const objects = await render([file]);
    for (const [where, spec] of podSpecs(objects)) {
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        assert.ok(c.resources?.requests !== undefined && c.resources?.limits?.memory !== undefined, `${file}: ${where} container ${c.name} has no requests or memory limit`);
      }
    }
  }
  const objects = await render(["ci/router-autoscaler-values.yaml"]);
  const specs = podSpecs(objects);
  assert.deepEqual(
    specs.map(([where]) => where).sort(),
    [`Deployment/${NAMES.router}`, `Deployment/${NAMES.worker}`, `Pod/${NAMES.test}`, `StatefulSet/${NAMES.nats}`],
  );
  for (const [where, spec] of specs) {
    assert.ok(
      spec.tolerations?.some((t: { key: string; value: string }) => t.key === "dedicated" && t.value === "sigmaserve"),
      `${where} lacks the global toleration`,
    );
    assert.equal(spec.nodeSelector?.pool, "sigmaserve", `${where} lacks the global nodeSelector`);
  }
  // The test pod is a hook, scheduled like the router, with its own small resources.
  const hook = find(objects, "Pod", NAMES.test);
  assert.equal(hook.metadata.annotations?.["helm.sh/hook"], "test");
  assert.deepEqual(hook.spec.containers[0].resources, { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } });
  assert.equal(hook.spec.containers[0].env.find((e: { name: string }) => e.name === "ROUTER_URL").value, "http://demo-sigmaserve-router.serving.svc:8000");
  // A component's own tolerations come after the global ones.
  const gpu = podSpec(find(await render(["values-gpu.yaml"], ["global.tolerations[0].key=all", "global.tolerations[0].operator=Exists"]), "Deployment", NAMES.worker));
  assert.deepEqual(gpu.tolerations.map((t: { key: string }) => t.key), ["all", "nvidia.com/gpu"]);
});
