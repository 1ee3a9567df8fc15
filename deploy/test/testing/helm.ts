/**
 * helm for the chart tests: the pinned binary (scripts/setup-helm.mjs puts it in <repo>/.tools/helm the
 * first time), run with its cache, config and data homes in a temp dir of this process so that nothing
 * on the machine (repos, plugins, a kubeconfig's registry logins) changes what it does. `render` parses
 * `helm template` into objects and keeps each result, since several test files read the same renders.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const DEPLOY_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHART_DIR = join(DEPLOY_DIR, "helm", "sigmaserve");
export const RELEASE = "demo";
export const NAMESPACE = "serving";

/**
 * The values files the tests render, relative to the chart: the install modes (the CPU demo, GPU workers, an
 * external NATS, KEDA on the queue and on K usage, the router's autoscaler, router HPA, everything optional off,
 * TLS on every hop with the chart's NATS, and with an external NATS with credentials and TLS).
 */
export const VALUES_FILES = [
  "ci/default-values.yaml",
  "values-gpu.yaml",
  "ci/external-nats-values.yaml",
  "ci/keda-values.yaml",
  "ci/keda-kv-usage-values.yaml",
  "ci/router-autoscaler-values.yaml",
  "ci/router-hpa-values.yaml",
  "ci/minimal-values.yaml",
  "ci/tls-values.yaml",
  "ci/tls-external-nats-values.yaml",
] as const;

/** A rendered Kubernetes object, loosely typed: tests read paths they assert on. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

let helmPath: string | undefined;
const home = mkdtempSync(join(tmpdir(), "sigmaserve-helm-home-"));
process.on("exit", () => rmSync(home, { recursive: true, force: true }));

/** The pinned helm, installed on first use. */
export function helmBinary(): string {
  helmPath ??= execFileSync(process.execPath, [join(DEPLOY_DIR, "scripts", "setup-helm.mjs")], { encoding: "utf8" }).trim();
  return helmPath;
}

/** Runs helm; resolves with its exit code and output (a non-zero exit is a result, not an exception). */
export function helm(args: string[]): Promise<HelmResult> {
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: home,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
    KUBECONFIG: join(home, "kubeconfig"),
  };
  return new Promise((resolve) => {
    execFile(helmBinary(), args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `-f` arguments for values files named relative to the chart (e.g. "ci/keda-values.yaml"). */
export function valuesArgs(files: readonly string[]): string[] {
  return files.flatMap((file) => ["-f", join(CHART_DIR, file)]);
}

const renders = new Map<string, Promise<K8sObject[]>>();

/**
 * `helm template` of the chart with these values files and --set pairs, as objects (hooks included: the
 * `helm test` pod is one). Throws with helm's stderr when it refuses the values.
 */
export function render(files: readonly string[] = [], set: readonly string[] = []): Promise<K8sObject[]> {
  const key = JSON.stringify([files, set]);
  let objects = renders.get(key);
  if (objects === undefined) {
    objects = (async () => {
      const args = ["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE, ...valuesArgs(files), ...set.flatMap((pair) => ["--set", pair])];
      const result = await helm(args);
      if (result.code !== 0) throw new Error(`helm template ${[...files, ...set].join(" ")} failed:\n${result.stderr}`);
      return parseAllDocuments(result.stdout)
        .map((doc) => {
          if (doc.errors.length > 0) throw new Error(`helm template produced invalid YAML: ${doc.errors[0]!.message}`);
          return doc.toJS() as K8sObject | null;
        })
        .filter((obj): obj is K8sObject => obj !== null);
    })();
    renders.set(key, objects);
  }
  return objects;
}

/** The one object of this kind and name (throws if it is missing). */
export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found;
}

/** Every object of this kind. */
export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** The pod spec of a workload (Deployment, StatefulSet, Job) or a bare Pod. */
export function podSpec(obj: K8sObject): any {
  return obj.kind === "Pod" ? obj.spec : obj.spec.template.spec;
}

/** Names the chart gives a release called RELEASE. */
export const NAMES = {
  router: `${RELEASE}-sigmaserve-router`,
  worker: `${RELEASE}-sigmaserve-worker`,
  nats: `${RELEASE}-sigmaserve-nats`,
  test: `${RELEASE}-sigmaserve-test-chat`,
} as const;
