/**
 * The worker pod: what the process is told (its id is the pod's name, it advertises the pod IP), how it
 * leaves (a preStop drain with migration inside a longer grace period), how long it may take to start,
 * and where GPUs appear (only in GPU mode).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { find, NAMES, podSpec, render } from "./testing/helm.js";

async function workerPod(files: string[] = [], set: string[] = []) {
  const deployment = find(await render(files, set), "Deployment", NAMES.worker);
  const spec = podSpec(deployment);
  const container = spec.containers.find((c: { name: string }) => c.name === "worker");
  return { deployment, spec, container };
}

/** The value after `flag` in an argument list. */
function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

test("worker - the process runs the demo preset on 0.0.0.0, named after its pod, advertising the pod IP, draining with migration on SIGTERM", async () => {
  const { container } = await workerPod();
  assert.deepEqual(container.command, ["node", "apps/worker/dist/main.js"]);
  const args: string[] = container.args;
  assert.equal(flagValue(args, "--preset"), "sigma-tiny");
  assert.equal(flagValue(args, "--host"), "0.0.0.0");
  assert.equal(flagValue(args, "--port"), "50061");
  assert.equal(flagValue(args, "--health-port"), "50062");
  assert.equal(flagValue(args, "--worker-id"), "$(POD_NAME)");
  assert.equal(flagValue(args, "--advertise"), "$(POD_IP):50061");
  assert.equal(flagValue(args, "--metrics-port"), "9400");
  assert.equal(flagValue(args, "--role"), "both");
  assert.ok(args.includes("--drain-migrate"));
  assert.equal(args.includes("--model"), false);
  const env = new Map(container.env.map((e: { name: string }) => [e.name, e]));
  assert.deepEqual((env.get("POD_NAME") as any).valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
  assert.deepEqual((env.get("POD_IP") as any).valueFrom, { fieldRef: { fieldPath: "status.podIP" } });
  // $(VAR) is expanded only from variables defined earlier in the list.
  const names = container.env.map((e: { name: string }) => e.name);
  assert.ok(names.indexOf("POD_NAME") < names.indexOf("SIGMASERVE_WORKER_NATS"));
  assert.equal((env.get("SIGMASERVE_WORKER_NATS") as any).value, "nats://$(NATS_TOKEN)@demo-sigmaserve-nats.serving.svc:4222");
});

test("worker - preStop drains with migration and waits, inside a grace period longer than the drain", async () => {
  for (const files of [[], ["values-gpu.yaml"]]) {
    const { spec, container } = await workerPod(files);
    const command: string[] = container.lifecycle.preStop.exec.command;
    assert.deepEqual(command.slice(0, 5), ["node", "apps/cli/dist/main.js", "drain", "127.0.0.1:50061", "--migrate"]);
    const graceMs = Number(flagValue(command, "--grace-ms"));
    const waitS = Number(flagValue(command, "--wait-s"));
    const drainTimeoutS = files.length === 0 ? 120 : 300;
    assert.equal(graceMs, drainTimeoutS * 1000, "the worker cancels what is left after the drain timeout");
    assert.equal(waitS, drainTimeoutS + (files.length === 0 ? 15 : 20), "and the hook waits a little longer to see DRAINED");
    assert.ok(spec.terminationGracePeriodSeconds > waitS, `grace ${spec.terminationGracePeriodSeconds} s must exceed the preStop's ${waitS} s`);
  }
});

test("worker - the startup probe allows at least 600 s; readiness on gRPC health (the plaintext health port), liveness on /metrics (a draining worker is NOT_SERVING but alive)", async () => {
  for (const files of [[], ["values-gpu.yaml"]]) {
    const { container } = await workerPod(files);
    const startup = container.startupProbe;
    assert.deepEqual(startup.grpc, { port: 50062 });
    assert.ok(startup.failureThreshold * startup.periodSeconds >= 600, `${files}: startup budget ${startup.failureThreshold * startup.periodSeconds} s`);
    assert.deepEqual(container.readinessProbe.grpc, { port: 50062 });
    assert.deepEqual(container.livenessProbe.httpGet, { path: "/metrics", port: "metrics" });
    assert.equal(container.livenessProbe.grpc, undefined);
  }
  const { container } = await workerPod(["values-gpu.yaml"]);
  assert.equal(container.startupProbe.failureThreshold * container.startupProbe.periodSeconds, 900);
});

test("worker - nvidia.com/gpu and the nvidia runtimeClass only in GPU mode; /dev/shm is a memory emptyDir with a size limit", async () => {
  const cpu = await workerPod();
  assert.equal(cpu.spec.runtimeClassName, undefined);
  assert.equal(JSON.stringify(cpu.deployment).includes("nvidia.com/gpu"), false);
  assert.deepEqual(cpu.container.resources, { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "2Gi" } });

  const gpu = await workerPod(["values-gpu.yaml"]);
  assert.equal(gpu.spec.runtimeClassName, "nvidia");
  assert.deepEqual(gpu.container.resources.limits, { "nvidia.com/gpu": 1, memory: "64Gi" });
  assert.deepEqual(gpu.spec.tolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  assert.deepEqual(gpu.spec.nodeSelector, { "nvidia.com/gpu.present": "true" });
  assert.deepEqual(gpu.spec.volumes.find((v: { name: string }) => v.name === "dshm"), { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "8Gi" } });
  assert.ok(gpu.container.volumeMounts.some((m: { name: string; mountPath: string }) => m.name === "dshm" && m.mountPath === "/dev/shm"));
  // The model directory comes from its volume, read-only.
  assert.equal(flagValue(gpu.container.args, "--model"), "/models/sigma-1.5b");
  assert.ok(gpu.container.volumeMounts.some((m: { name: string; readOnly: boolean }) => m.name === "model" && m.readOnly));

  const minimal = await workerPod(["ci/minimal-values.yaml"]);
  assert.equal(minimal.spec.volumes.some((v: { name: string }) => v.name === "dshm"), false);
  // A GPU count and another extended resource name come through as given.
  const two = await workerPod([], ["worker.gpu.enabled=true", "worker.gpu.count=2", "worker.gpu.resourceName=amd.com/gpu", "worker.gpu.runtimeClassName="]);
  assert.deepEqual(two.container.resources.limits, { "amd.com/gpu": 2, memory: "2Gi" });
  assert.equal(two.spec.runtimeClassName, undefined);
});

test("worker - replicas are the chart's only without an autoscaler; with one, the Deployment leaves spec.replicas to it", async () => {
  assert.equal((await workerPod()).deployment.spec.replicas, 2);
  for (const file of ["ci/keda-values.yaml", "ci/router-autoscaler-values.yaml"]) {
    const { deployment } = await workerPod([file]);
    assert.equal("replicas" in deployment.spec, false, file);
  }
  // A rollout adds a worker before it drains one (on CPU); the GPU example replaces in place.
  assert.deepEqual((await workerPod()).deployment.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
  assert.deepEqual((await workerPod(["values-gpu.yaml"])).deployment.spec.strategy.rollingUpdate, { maxSurge: 0, maxUnavailable: 1 });
});

test("worker - runs as uid 10001 with a read-only root, no service account token, and waits for the in-chart NATS", async () => {
  const { spec, container } = await workerPod();
  assert.equal(spec.securityContext.runAsUser, 10001);
  assert.equal(spec.securityContext.runAsNonRoot, true);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"] });
  assert.equal(spec.automountServiceAccountToken, false);
  assert.deepEqual(
    spec.initContainers.map((c: { name: string }) => c.name),
    ["wait-for-nats"],
  );
  const external = await workerPod(["ci/external-nats-values.yaml"]);
  assert.equal(external.spec.initContainers, undefined);
});

test("worker - OpenTelemetry: endpoint flag, service name, sampler and pod resource attributes when an endpoint is set", async () => {
  const { container } = await workerPod(["ci/router-autoscaler-values.yaml"]);
  assert.equal(flagValue(container.args, "--otlp-endpoint"), "http://otel-collector.observability.svc:4318");
  const env = Object.fromEntries(container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(env.OTEL_SERVICE_NAME, "sigmaserve-worker");
  assert.equal(env.OTEL_TRACES_SAMPLER, "parentbased_traceidratio");
  assert.equal(env.OTEL_TRACES_SAMPLER_ARG, "0.25");
  assert.match(env.OTEL_RESOURCE_ATTRIBUTES, /k8s\.pod\.name=\$\(POD_NAME\)/);
  const plain = await workerPod();
  assert.equal(plain.container.env.some((e: { name: string }) => e.name.startsWith("OTEL_")), false);
  assert.equal(plain.container.args.includes("--otlp-endpoint"), false);
});
