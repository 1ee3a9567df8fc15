/**
 * Values the chart must refuse, each with the message helm prints (helm v4.1.4's wording, pinned): wrong
 * types, unknown keys, out-of-range numbers and bad enums from values.schema.json; the rules a schema
 * cannot say (never both NATS modes, never KEDA beside the router's autoscaler, a grace period longer than
 * the drain) from templates/validate.yaml. The bad values files live in test/bad-values/.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CHART_DIR, DEPLOY_DIR, helm, render } from "./testing/helm.js";

const SCHEMA_ERROR = "values don't meet the specifications of the schema(s) in the following chart(s):\nsigmaserve:\n";

/** Each bad values file and what helm must say about it. */
const REFUSED: [file: string, message: string][] = [
  ["wrong-type.yaml", `${SCHEMA_ERROR}- at '/router/replicas': got string, want integer`],
  ["unknown-key.yaml", `${SCHEMA_ERROR}- at '/worker': additional properties 'replica' not allowed`],
  ["unknown-toleration-field.yaml", `${SCHEMA_ERROR}- at '/worker/tolerations/0': additional properties 'operater' not allowed`],
  ["negative-replicas.yaml", `${SCHEMA_ERROR}- at '/worker/replicas': minimum: got -1, want 0`],
  ["bad-enum.yaml", `${SCHEMA_ERROR}- at '/router/policy': value must be one of 'kv_aware', 'least_loaded', 'round_robin'`],
  ["bad-provider.yaml", `${SCHEMA_ERROR}- at '/autoscaling/provider': value must be one of 'none', 'router', 'keda'`],
  ["bad-api-key.yaml", `${SCHEMA_ERROR}- at '/router/apiKeys/keys/0/key': 'a,b' does not match pattern '^[^,=\\\\s]+$'`],
  ["bad-nats-url.yaml", "- at '/nats/external/url': 'http://nats:4222' does not match pattern '^(nats|tls)://'"],
  [
    "both-nats.yaml",
    "nats: nats.internal.enabled is true and nats.external is set: use the chart's NATS or an external one, never both (set nats.internal.enabled=false to use nats.external)",
  ],
  ["no-nats.yaml", "nats: the router and the workers need NATS: set nats.internal.enabled=true, or nats.external.url (or nats.external.existingSecret)"],
  [
    "keda-and-router-autoscaler.yaml",
    `router.extraArgs has --autoscale but autoscaling.provider is "keda": turn the router's autoscaler on with autoscaling.provider=router (settings in autoscaling.router), never by hand: beside KEDA both would set the worker Deployment's replicas`,
  ],
  [
    "keda-and-router-autoscaler-env.yaml",
    `router.extraEnv sets SIGMASERVE_ROUTER_AUTOSCALE but autoscaling.provider is "keda": turn the router's autoscaler on with autoscaling.provider=router`,
  ],
  [
    "grace-too-short.yaml",
    "worker.terminationGracePeriodSeconds (135) must be greater than worker.drain.timeoutSeconds + worker.drain.preStopExtraSeconds (120 + 15 = 135): the kubelet kills the worker when the grace period ends, cutting its drain and migration short; raise it to at least 136",
  ],
  ["startup-budget-too-short.yaml", "worker.startupProbe allows 300 s (failureThreshold 30 x periodSeconds 10): a worker loading a model needs at least 600 s before the kubelet restarts it"],
  ["min-above-max.yaml", "autoscaling.minReplicas (5) is greater than autoscaling.maxReplicas (2)"],
  ["preset-and-path.yaml", "worker.model: set preset or path, not both"],
  [
    "tls-without-secret.yaml",
    "tls.enabled needs tls.existingSecret: a Secret with tls.crt, tls.key and ca.crt (a kubernetes.io/tls Secret with ca.crt, as cert-manager writes it) for the router's and the workers' mutual TLS",
  ],
  ["client-tls-without-secret.yaml", "router.clientTls.enabled needs router.clientTls.existingSecret: a kubernetes.io/tls Secret (tls.crt, tls.key) with the router's certificate"],
  [
    "client-ca-without-tls.yaml",
    "router.clientTls.clientCaSecret is set but router.clientTls.enabled is false: client certificates are checked only over TLS; set router.clientTls.enabled=true and router.clientTls.existingSecret",
  ],
  [
    "client-ca-with-test-pod.yaml",
    "router.clientTls.clientCaSecret makes the router require client certificates, and the helm test pod has none: set tests.enabled=false (or leave clientCaSecret empty)",
  ],
  ["nats-auth-without-secret.yaml", "nats.external.auth.type is userPassword but nats.external.auth.existingSecret is empty: name the Secret that holds the keys user and password"],
  [
    "nats-tls-without-secret.yaml",
    "nats.external.tls.enabled needs nats.external.tls.existingSecret: a Secret with ca.crt (the CA of the NATS server's certificate), and tls.crt and tls.key with nats.external.tls.clientCert",
  ],
  [
    "nats-tls-with-internal.yaml",
    "nats.external.auth and nats.external.tls are for an external NATS, but nats.internal.enabled is true: the chart's NATS takes nats.internal.auth (set nats.internal.enabled=false to use nats.external)",
  ],
];

const badValues = (file: string): string => join(DEPLOY_DIR, "test", "bad-values", file);

test("schema - helm template refuses each bad values file with its message", async () => {
  for (const [file, message] of REFUSED) {
    const result = await helm(["template", "demo", CHART_DIR, "-f", badValues(file)]);
    assert.notEqual(result.code, 0, `${file} was accepted`);
    assert.ok(result.stderr.includes(message), `${file}: expected\n  ${message}\nin\n  ${result.stderr}`);
    assert.equal(result.stdout, "", `${file}: nothing is rendered`);
  }
  // Every file in bad-values/ is in the table (none is kept without its message).
  assert.deepEqual(readdirSync(join(DEPLOY_DIR, "test", "bad-values")).sort(), REFUSED.map(([file]) => file).sort());
});

test("schema - helm lint fails on schema errors; a template `fail` it only logs (helm v4 lints leniently), so install and template are what refuse those", async () => {
  for (const file of ["unknown-key.yaml", "negative-replicas.yaml", "bad-enum.yaml"]) {
    const result = await helm(["lint", "--strict", CHART_DIR, "-f", badValues(file)]);
    assert.notEqual(result.code, 0, file);
    assert.match(result.stdout + result.stderr, /1 chart\(s\) failed/, file);
  }
  for (const file of ["both-nats.yaml", "grace-too-short.yaml", "keda-and-router-autoscaler.yaml"]) {
    const result = await helm(["lint", "--strict", CHART_DIR, "-f", badValues(file)]);
    assert.equal(result.code, 0, `${file}: helm lint now fails on a template fail; turn this into a refusal check`);
    assert.match(result.stderr, /level=INFO msg="funcMap fail" message=/, file);
    const install = await helm(["install", "demo", CHART_DIR, "--dry-run=client", "-f", badValues(file)]);
    assert.notEqual(install.code, 0, `${file}: helm install accepted it`);
    assert.match(install.stderr, /execution error at \(sigmaserve\/templates\/validate\.yaml/, file);
  }
});

test("schema - the grace rule's boundary: one second more than drain timeout + preStop extra renders", async () => {
  const objects = await render([], ["worker.drain.timeoutSeconds=60", "worker.drain.preStopExtraSeconds=5", "worker.terminationGracePeriodSeconds=66"]);
  const worker = objects.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-worker"));
  assert.equal(worker?.spec.template.spec.terminationGracePeriodSeconds, 66);
  await assert.rejects(render([], ["worker.drain.timeoutSeconds=60", "worker.drain.preStopExtraSeconds=5", "worker.terminationGracePeriodSeconds=65"]), /raise it to at least 66/);
});

test("schema - every key of values.yaml is in the schema, and the schema refuses keys it does not list at every level", async () => {
  // --strict lint of the defaults passes (chart-render.test.ts); here: an unknown key under each top-level section is refused.
  for (const section of ["image", "global", "otel", "tls", "router", "worker", "autoscaling", "nats", "networkPolicy", "metrics", "tests", "serviceAccount", "podSecurityContext", "securityContext"]) {
    const result = await helm(["template", "demo", CHART_DIR, "--set", `${section}.typo=1`]);
    assert.notEqual(result.code, 0, section);
    assert.ok(result.stderr.includes(`- at '/${section}': additional properties 'typo' not allowed`), `${section}: ${result.stderr}`);
  }
  const top = await helm(["template", "demo", CHART_DIR, "--set", "typo=1"]);
  assert.ok(top.stderr.includes("- at '': additional properties 'typo' not allowed"), top.stderr);
});
