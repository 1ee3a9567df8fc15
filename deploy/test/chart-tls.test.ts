/**
 * TLS and NATS credentials from Secrets: what each switch mounts and hands the processes. Every file a
 * SIGMASERVE_* variable or a preStop flag names lies in a read-only Secret volume that holds that key
 * (whole-Secret mounts, never subPath, so renewed files reach the pod in place); the router and the peers
 * check the SAN the docs tell the certificate to carry; the probes never depend on TLS.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { find, NAMES, ofKind, podSpec, render, type K8sObject } from "./testing/helm.js";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

/** The container's SIGMASERVE_* variables, name → value (or "secret:NAME/KEY"). */
function sigmaserveEnv(container: { env: EnvVar[] }): Record<string, string> {
  return Object.fromEntries(
    container.env
      .filter((e) => e.name.startsWith("SIGMASERVE_") && !/_NATS$|_API_KEYS$/.test(e.name))
      .map((e) => [e.name, e.value ?? `secret:${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`]),
  );
}

/** Secret volumes as "mountPath/file ← secret/key", for every file a container can read from a Secret. */
function secretFiles(workload: K8sObject, containerIndex = 0): Map<string, string> {
  const spec = podSpec(workload);
  const container = spec.containers[containerIndex];
  const files = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = spec.volumes.find((v: { name: string }) => v.name === mount.name);
    if (volume?.secret === undefined) continue;
    assert.equal(mount.readOnly, true, `${mount.name} is mounted read-only`);
    assert.equal(mount.subPath, undefined, `${mount.name}: no subPath (the kubelet would never update it)`);
    for (const item of volume.secret.items) files.set(`${mount.mountPath}/${item.path}`, `${volume.secret.secretName}/${item.key}`);
  }
  return files;
}

/** Every /etc/sigmaserve path in these values is a file some Secret volume provides. */
function assertProvided(paths: string[], files: Map<string, string>, where: string): void {
  for (const path of paths.filter((p) => p.startsWith("/etc/sigmaserve/"))) assert.ok(files.has(path), `${where}: ${path} is in no mounted Secret (${[...files.keys()].join(", ")})`);
}

async function pods(files: string[], set: string[] = []) {
  const objects = await render(files, set);
  const routerDeployment = find(objects, "Deployment", NAMES.router);
  const workerDeployment = find(objects, "Deployment", NAMES.worker);
  return { objects, routerDeployment, workerDeployment, router: podSpec(routerDeployment).containers[0], worker: podSpec(workerDeployment).containers[0] };
}

test("tls - off by default: no certificate variables or volumes, a plaintext preStop drain, probes on the health ports all the same", async () => {
  const { router, worker, routerDeployment, workerDeployment } = await pods([]);
  assert.deepEqual(Object.keys(sigmaserveEnv(router)), []);
  assert.deepEqual(Object.keys(sigmaserveEnv(worker)), []);
  assert.equal(secretFiles(routerDeployment).size, 0);
  assert.equal(secretFiles(workerDeployment).size, 0);
  assert.equal(worker.lifecycle.preStop.exec.command.some((a: string) => a.startsWith("--tls")), false);
  assert.deepEqual(router.readinessProbe.grpc, { port: 50052, service: "liveness" });
  assert.deepEqual(worker.readinessProbe.grpc, { port: 50062 });
});

test("tls - ci/tls-values.yaml: router and workers share one mTLS identity, the SAN is the worker Service's name, the door serves its own certificate", async () => {
  const { objects, router, worker, routerDeployment, workerDeployment } = await pods(["ci/tls-values.yaml"]);
  const san = "demo-sigmaserve-worker.serving.svc";
  assert.deepEqual(sigmaserveEnv(router), {
    SIGMASERVE_ROUTER_WORKER_TLS_CA: "/etc/sigmaserve/tls/ca.crt",
    SIGMASERVE_ROUTER_WORKER_TLS_CERT: "/etc/sigmaserve/tls/tls.crt",
    SIGMASERVE_ROUTER_WORKER_TLS_KEY: "/etc/sigmaserve/tls/tls.key",
    SIGMASERVE_ROUTER_WORKER_TLS_SERVER_NAME: san,
    SIGMASERVE_ROUTER_TLS_CERT: "/etc/sigmaserve/router-tls/tls.crt",
    SIGMASERVE_ROUTER_TLS_KEY: "/etc/sigmaserve/router-tls/tls.key",
    SIGMASERVE_ROUTER_TLS_REFRESH_S: "60",
  });
  assert.deepEqual(sigmaserveEnv(worker), {
    SIGMASERVE_WORKER_TLS_CA: "/etc/sigmaserve/tls/ca.crt",
    SIGMASERVE_WORKER_TLS_CERT: "/etc/sigmaserve/tls/tls.crt",
    SIGMASERVE_WORKER_TLS_KEY: "/etc/sigmaserve/tls/tls.key",
    SIGMASERVE_WORKER_PEER_TLS_SERVER_NAME: san,
    SIGMASERVE_WORKER_TLS_REFRESH_S: "60",
  });
  const routerFiles = secretFiles(routerDeployment);
  assert.deepEqual(Object.fromEntries(routerFiles), {
    "/etc/sigmaserve/tls/tls.crt": "sigmaserve-internal-tls/tls.crt",
    "/etc/sigmaserve/tls/tls.key": "sigmaserve-internal-tls/tls.key",
    "/etc/sigmaserve/tls/ca.crt": "sigmaserve-internal-tls/ca.crt",
    "/etc/sigmaserve/router-tls/tls.crt": "sigmaserve-router-tls/tls.crt",
    "/etc/sigmaserve/router-tls/tls.key": "sigmaserve-router-tls/tls.key",
  });
  assertProvided(Object.values(sigmaserveEnv(router)), routerFiles, "router");
  const workerFiles = secretFiles(workerDeployment);
  assertProvided(Object.values(sigmaserveEnv(worker)), workerFiles, "worker");
  // The preStop drain dials the worker's mTLS port with the worker's own identity and the same SAN.
  const command: string[] = worker.lifecycle.preStop.exec.command;
  assert.deepEqual(command.slice(command.indexOf("--tls-ca")), ["--tls-ca", "/etc/sigmaserve/tls/ca.crt", "--tls-cert", "/etc/sigmaserve/tls/tls.crt", "--tls-key", "/etc/sigmaserve/tls/tls.key", "--tls-server-name", san]);
  assertProvided(command, workerFiles, "preStop");
  // Keys are readable by the pod's group only.
  for (const volume of podSpec(workerDeployment).volumes.filter((v: { secret?: unknown }) => v.secret !== undefined)) assert.equal(volume.secret.defaultMode, 0o440, volume.name);
  // Probes on the plaintext health ports, which TLS never touches.
  assert.deepEqual(router.livenessProbe.grpc, { port: 50052, service: "liveness" });
  assert.deepEqual(worker.startupProbe.grpc, { port: 50062 });

  // The helm test pod speaks HTTPS to the Service name and trusts the door Secret's ca.crt, without its key.
  const testPod = find(objects, "Pod", NAMES.test);
  const testEnv = Object.fromEntries(testPod.spec.containers[0].env.map((e: EnvVar) => [e.name, e.value]));
  assert.equal(testEnv.ROUTER_URL, "https://demo-sigmaserve-router.serving.svc:8000");
  assert.equal(testEnv.NODE_EXTRA_CA_CERTS, "/etc/sigmaserve/router-tls/ca.crt");
  assert.deepEqual(testPod.spec.volumes, [{ name: "router-tls", secret: { secretName: "sigmaserve-router-tls", optional: true, items: [{ key: "ca.crt", path: "ca.crt" }] } }]);
  // Prometheus scrapes the router over HTTPS; the workers' metrics port stays plaintext HTTP.
  const [routerMonitor, workerMonitor] = ofKind(objects, "ServiceMonitor");
  assert.equal(routerMonitor!.spec.endpoints[0].scheme, "https");
  assert.deepEqual(routerMonitor!.spec.endpoints[0].tlsConfig, { serverName: "demo-sigmaserve-router.serving.svc", ca: { secret: { name: "sigmaserve-router-tls", key: "ca.crt", optional: true } } });
  assert.equal(workerMonitor!.spec.endpoints[0].scheme, undefined);
});

test("tls - ci/tls-external-nats-values.yaml: a chosen SAN, client certificates on the door, NATS .creds and TLS with a client certificate", async () => {
  const { router, worker, routerDeployment, workerDeployment } = await pods(["ci/tls-external-nats-values.yaml"]);
  const env = sigmaserveEnv(router);
  assert.equal(env.SIGMASERVE_ROUTER_WORKER_TLS_SERVER_NAME, "worker.sigmaserve.internal");
  assert.equal(env.SIGMASERVE_ROUTER_TLS_CLIENT_CA, "/etc/sigmaserve/router-client-ca/ca.crt");
  assert.equal(env.SIGMASERVE_ROUTER_TLS_REFRESH_S, "30");
  assert.equal(sigmaserveEnv(worker).SIGMASERVE_WORKER_PEER_TLS_SERVER_NAME, "worker.sigmaserve.internal");
  assert.equal(flagAfter(worker.lifecycle.preStop.exec.command, "--tls-server-name"), "worker.sigmaserve.internal");
  const routerFiles = secretFiles(routerDeployment);
  // The client CA comes from its own key, whatever it is called there.
  assert.equal(routerFiles.get("/etc/sigmaserve/router-client-ca/ca.crt"), "sigmaserve-clients-ca/clients-ca.pem");
  for (const [app, container, files] of [["ROUTER", router, routerFiles], ["WORKER", worker, secretFiles(workerDeployment)]] as const) {
    const e = sigmaserveEnv(container);
    assert.equal(e[`SIGMASERVE_${app}_NATS_CREDS`], "/etc/sigmaserve/nats-auth/creds");
    assert.equal(e[`SIGMASERVE_${app}_NATS_TLS_CA`], "/etc/sigmaserve/nats-tls/ca.crt");
    assert.equal(e[`SIGMASERVE_${app}_NATS_TLS_CERT`], "/etc/sigmaserve/nats-tls/tls.crt");
    assert.equal(e[`SIGMASERVE_${app}_NATS_TLS_KEY`], "/etc/sigmaserve/nats-tls/tls.key");
    assert.equal(files.get("/etc/sigmaserve/nats-auth/creds"), "sigmaserve-nats-creds/creds");
    assertProvided(Object.values(e), files, app);
  }
});

test("tls - external NATS with a user and password: the user from the Secret as a variable, the password as a file re-read at reconnect; a token as a file", async () => {
  const base = ["nats.internal.enabled=false", "nats.external.url=nats://nats.infra:4222", "nats.external.auth.existingSecret=nats-client"];
  const { worker, workerDeployment } = await pods([], [...base, "nats.external.auth.type=userPassword"]);
  assert.deepEqual(sigmaserveEnv(worker), { SIGMASERVE_WORKER_NATS_USER: "secret:nats-client/user", SIGMASERVE_WORKER_NATS_PASSWORD_FILE: "/etc/sigmaserve/nats-auth/password" });
  assert.deepEqual(Object.fromEntries(secretFiles(workerDeployment)), { "/etc/sigmaserve/nats-auth/password": "nats-client/password" });
  const token = await pods([], [...base, "nats.external.auth.type=token"]);
  assert.deepEqual(sigmaserveEnv(token.router), { SIGMASERVE_ROUTER_NATS_TOKEN_FILE: "/etc/sigmaserve/nats-auth/token" });
  const nkey = await pods([], [...base, "nats.external.auth.type=nkey"]);
  assert.deepEqual(sigmaserveEnv(nkey.worker), { SIGMASERVE_WORKER_NATS_NKEY_SEED_FILE: "/etc/sigmaserve/nats-auth/seed" });
});

function flagAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}
