/**
 * The chart lints clean (also with --strict) and renders, with every values file we keep, objects the
 * Kubernetes API accepts: each one validated against the API schemas (kube-validate.ts), unknown fields
 * included. The values files cover the install modes: the CPU demo (defaults), GPU workers, an external
 * NATS, KEDA on the queue and on K usage, the router's autoscaler, router HPA, everything optional off.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CHART_DIR, helm, NAMES, NAMESPACE, render, VALUES_FILES, valuesArgs } from "./testing/helm.js";
import { unknownFields, validationErrors } from "./testing/kube-validate.js";

test("chart - helm lint and helm lint --strict pass with every values file", async () => {
  for (const file of VALUES_FILES) {
    for (const strict of [[], ["--strict"]]) {
      const result = await helm(["lint", CHART_DIR, ...strict, ...valuesArgs([file])]);
      assert.equal(result.code, 0, `helm lint ${strict.join("")} -f ${file}:\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/, `${file}: ${result.stdout}`);
    }
  }
});

test("chart - every object rendered from every values file passes the Kubernetes API schemas, unknown fields included", async () => {
  for (const file of VALUES_FILES) {
    const objects = await render([file]);
    assert.ok(objects.length >= 9, `${file}: only ${objects.length} objects`);
    const errors = (await Promise.all(objects.map(validationErrors))).flat();
    assert.deepEqual(errors, [], file);
  }
});

test("chart - the unknown-field check catches typos that the API would drop silently", () => {
  const typo = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "w", labelz: {} },
    spec: { selector: {}, template: { spec: { containers: [{ name: "c", readinesProbe: {}, env: [{ name: "A", valueFrom: { fieldRef: { fieldPth: "x" } } }] }] } } },
  };
  assert.deepEqual(unknownFields(typo), [
    "metadata.labelz: no such field",
    "spec.template.spec.containers[0].readinesProbe: no such field",
    "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPth: no such field",
  ]);
});

test("chart - names are unique per kind, every object is in the release namespace and carries the chart's labels", async () => {
  for (const file of VALUES_FILES) {
    const objects = await render([file]);
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, `${file}: duplicates in ${keys.join(", ")}`);
    for (const o of objects) {
      assert.equal(o.metadata.namespace, NAMESPACE, `${file}: ${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.labels?.["app.kubernetes.io/instance"], "demo", `${file}: ${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "Helm");
      assert.ok(o.metadata.name.length <= 63, o.metadata.name);
    }
  }
});

test("chart - the defaults install the CPU demo: a router, two sigma-tiny workers without GPUs, NATS with JetStream, the test pod", async () => {
  const objects = await render([]);
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    [
      `ConfigMap/${NAMES.nats}`,
      `Deployment/${NAMES.router}`,
      `Deployment/${NAMES.worker}`,
      `NetworkPolicy/${NAMES.nats}`,
      `NetworkPolicy/${NAMES.router}`,
      `NetworkPolicy/${NAMES.worker}`,
      `Pod/${NAMES.test}`,
      `PodDisruptionBudget/${NAMES.router}`,
      `PodDisruptionBudget/${NAMES.worker}`,
      `Secret/${NAMES.nats}-auth`,
      `Service/${NAMES.nats}`,
      `Service/${NAMES.nats}-headless`,
      `Service/${NAMES.router}`,
      `Service/${NAMES.worker}`,
      `ServiceAccount/${NAMES.router}`,
      `StatefulSet/${NAMES.nats}`,
    ],
  );
});

test("chart - NOTES.txt says how to reach the router: port-forward and curl lines", async () => {
  const result = await helm(["install", "demo", CHART_DIR, "--dry-run=client", "--namespace", NAMESPACE]);
  assert.equal(result.code, 0, result.stderr);
  const notes = result.stdout.slice(result.stdout.indexOf("NOTES:"));
  assert.match(notes, new RegExp(`kubectl -n ${NAMESPACE} port-forward service/${NAMES.router} 8000:8000 50051:50051`));
  assert.match(notes, /curl -s http:\/\/127\.0\.0\.1:8000\/v1\/chat\/completions -H 'content-type: application\/json'/);
  assert.match(notes, /"model":"sigma-tiny"/);
  assert.match(notes, /helm test demo -n serving/);
});
