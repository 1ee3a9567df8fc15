/**
 * The router: its flags (the built-in autoscaler's only when autoscaling.provider=router), API keys from
 * a Secret, native gRPC probes, the optional HPA, and the least RBAC the autoscaler needs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { find, NAMES, ofKind, podSpec, render } from "./testing/helm.js";

async function router(files: string[] = [], set: string[] = []) {
  const objects = await render(files, set);
  const deployment = find(objects, "Deployment", NAMES.router);
  const spec = podSpec(deployment);
  return { objects, deployment, spec, container: spec.containers[0] };
}

/** `--flag value` pairs (and bare flags, as true) of an argument list. */
function flags(args: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) out.set(args[i]!, true);
    else out.set(args[i++]!, next);
  }
  return out;
}

const AUTOSCALER_FLAGS = ["--autoscale", "--autoscale-provider", "--autoscale-interval-s", "--autoscale-warmup-s", "--autoscale-down-window-s", "--autoscale-ttft-slo-ms", "--autoscale-drain-timeout-s", "--router-id", "--k8s-namespace", "--k8s-worker-deployment", "--k8s-worker-service"];

test("router - serves gRPC and HTTP on 0.0.0.0 with the values' policy and limits, NATS from the env, probes on the plaintext health port", async () => {
  const { container, objects } = await router();
  assert.deepEqual(container.command, ["node", "apps/router/dist/main.js"]);
  assert.deepEqual(
    [...flags(container.args)],
    [
      ["--host", "0.0.0.0"],
      ["--grpc-port", "50051"],
      ["--http-port", "8000"],
      ["--health-port", "50052"],
      ["--policy", "kv_aware"],
      ["--max-in-flight", "256"],
      ["--max-queued", "1024"],
    ],
  );
  // The "liveness" health service: SERVING from start to stop, whether or not a worker is routable.
  // On the health-only port (the gRPC port may require TLS, which gRPC probes cannot speak; one health state for both).
  assert.deepEqual(container.readinessProbe.grpc, { port: 50052, service: "liveness" });
  assert.deepEqual(container.livenessProbe.grpc, { port: 50052, service: "liveness" });
  assert.deepEqual(container.ports.find((p: { name: string }) => p.name === "health"), { name: "health", containerPort: 50052, protocol: "TCP" });
  assert.equal(container.env.find((e: { name: string }) => e.name === "SIGMASERVE_ROUTER_NATS").value, "nats://$(NATS_TOKEN)@demo-sigmaserve-nats.serving.svc:4222");
  assert.equal(container.env.some((e: { name: string }) => e.name === "SIGMASERVE_ROUTER_API_KEYS"), false, "no keys: no variable");
  const service = find(objects, "Service", NAMES.router);
  assert.deepEqual(
    service.spec.ports.map((p: { name: string; port: number; targetPort: string }) => [p.name, p.port, p.targetPort]),
    [
      ["grpc", 50051, "grpc"],
      ["http", 8000, "http"],
    ],
  );
});

test("router - the built-in autoscaler's flags appear with autoscaling.provider=router, and never otherwise", async () => {
  const { container, spec } = await router(["ci/router-autoscaler-values.yaml"]);
  const f = flags(container.args);
  assert.equal(f.get("--autoscale"), "2..6");
  assert.equal(f.get("--autoscale-provider"), "kubernetes");
  assert.equal(f.get("--autoscale-interval-s"), "10");
  assert.equal(f.get("--autoscale-warmup-s"), "90");
  assert.equal(f.get("--autoscale-down-window-s"), "120");
  assert.equal(f.get("--autoscale-ttft-slo-ms"), "800");
  assert.equal(f.get("--autoscale-drain-timeout-s"), "120", "the same bound as the worker's own drain");
  assert.equal(f.get("--router-id"), "$(POD_NAME)");
  assert.equal(f.get("--k8s-namespace"), "serving");
  assert.equal(f.get("--k8s-worker-deployment"), NAMES.worker);
  assert.equal(f.get("--k8s-worker-service"), NAMES.worker);
  assert.equal(spec.automountServiceAccountToken, true, "the autoscaler calls the Kubernetes API");
  assert.equal(spec.serviceAccountName, NAMES.router);

  // Discovery from the registry: no --k8s-worker-service.
  const registry = await router(["ci/router-autoscaler-values.yaml"], ["router.workerDiscovery=registry"]);
  assert.equal(flags(registry.container.args).has("--k8s-worker-service"), false);
  assert.equal(flags(registry.container.args).get("--k8s-namespace"), "serving");

  for (const files of [[], ["ci/keda-values.yaml"], ["ci/minimal-values.yaml"]]) {
    const other = await router(files);
    const present = AUTOSCALER_FLAGS.filter((flag) => other.container.args.includes(flag));
    assert.deepEqual(present, [], `${files}`);
    assert.equal(other.spec.automountServiceAccountToken, false, `${files}`);
  }
});

test("router - its Role is exactly the least the autoscaler and EndpointSlice discovery need, bound to the router's ServiceAccount", async () => {
  const { objects } = await router(["ci/router-autoscaler-values.yaml"]);
  const role = find(objects, "Role", NAMES.router);
  assert.deepEqual(role.rules, [
    { apiGroups: ["apps"], resources: ["deployments"], resourceNames: [NAMES.worker], verbs: ["get"] },
    { apiGroups: ["apps"], resources: ["deployments/scale"], resourceNames: [NAMES.worker], verbs: ["get", "update", "patch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "patch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  ]);
  const binding = find(objects, "RoleBinding", NAMES.router);
  assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NAMES.router });
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: NAMES.router, namespace: "serving" }]);
  assert.equal(find(objects, "ServiceAccount", NAMES.router).automountServiceAccountToken, false);

  // Registry discovery needs no EndpointSlices; discovery alone needs nothing else; neither, no RBAC at all.
  const registry = await router(["ci/router-autoscaler-values.yaml"], ["router.workerDiscovery=registry"]);
  assert.deepEqual(
    find(registry.objects, "Role", NAMES.router).rules.map((r: { resources: string[] }) => r.resources[0]),
    ["deployments", "deployments/scale", "pods"],
  );
  const discovery = await router([], ["router.workerDiscovery=endpointSlices"]);
  assert.deepEqual(find(discovery.objects, "Role", NAMES.router).rules, [{ apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] }]);
  assert.equal(discovery.spec.automountServiceAccountToken, true);
  assert.equal(flags(discovery.container.args).get("--k8s-worker-service"), NAMES.worker);
  assert.equal(flags(discovery.container.args).has("--autoscale"), false);
  for (const files of [[], ["ci/keda-values.yaml"]]) {
    const { objects: none } = await router(files);
    assert.deepEqual([...ofKind(none, "Role"), ...ofKind(none, "RoleBinding"), ...ofKind(none, "ClusterRole")], [], `${files}`);
  }
});

test("router - API keys: a Secret the chart makes from the values, or an existing one, as SIGMASERVE_ROUTER_API_KEYS", async () => {
  const made = await router(["ci/router-autoscaler-values.yaml"]);
  const secret = find(made.objects, "Secret", `${NAMES.router}-api-keys`);
  assert.deepEqual(secret.stringData, { "api-keys": "sk-tenant-a=tenant-a,sk-tenant-b=tenant-b" });
  assert.deepEqual(made.container.env.find((e: { name: string }) => e.name === "SIGMASERVE_ROUTER_API_KEYS").valueFrom, {
    secretKeyRef: { name: `${NAMES.router}-api-keys`, key: "api-keys" },
  });
  // The routers roll when the keys change.
  assert.match(made.deployment.spec.template.metadata.annotations["checksum/api-keys"], /^[0-9a-f]{64}$/);

  const existing = await router(["ci/external-nats-values.yaml"]);
  assert.equal(ofKind(existing.objects, "Secret").length, 0);
  assert.deepEqual(existing.container.env.find((e: { name: string }) => e.name === "SIGMASERVE_ROUTER_API_KEYS").valueFrom, {
    secretKeyRef: { name: "sigmaserve-api-keys", key: "keys" },
  });
});

test("router - the HPA scales the routers on CPU (autoscaling/v2) and then owns their count", async () => {
  const { objects, deployment, container } = await router(["ci/router-hpa-values.yaml"]);
  const hpa = find(objects, "HorizontalPodAutoscaler", NAMES.router);
  assert.equal(hpa.apiVersion, "autoscaling/v2");
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: NAMES.router });
  assert.equal(hpa.spec.minReplicas, 2);
  assert.equal(hpa.spec.maxReplicas, 5);
  assert.deepEqual(hpa.spec.metrics, [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }]);
  assert.equal("replicas" in deployment.spec, false);
  const f = flags(container.args);
  assert.equal(f.get("--policy"), "least_loaded");
  assert.equal(f.get("--trace-content"), true);
  assert.equal(f.get("--max-replays"), "2");
  assert.equal(ofKind((await router()).objects, "HorizontalPodAutoscaler").length, 0);
});
