/**
 * Checks a rendered object against the Kubernetes API schemas, offline.
 *
 * Built-in kinds: the kubernetes-models class of the kind (`kubernetes-models/<group>/<version>/<Kind>`,
 * imported on first use and kept) validates types, required fields, enums and formats. Its validators
 * accept unknown fields, though, and the API server drops those with a mere warning, so a typo such as
 * `readinesProbe` would silently lose a probe: `unknownFields` walks the object along the package's type
 * declarations (its .d.ts interfaces) and names every field the API does not have.
 *
 * CRDs: kubernetes-models 5.1.0 has no classes for the Prometheus Operator or KEDA (the
 * @kubernetes-models/prometheus-operator and keda packages are not installed here), so ServiceMonitor and
 * ScaledObject get hand-written checks of the fields their controllers need; see `checkCrd`.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { K8sObject } from "./helm.js";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

const KUBERNETES_MODELS_DIR = dirname(fileURLToPath(import.meta.resolve("kubernetes-models")));
/** @kubernetes-models/apimachinery, next to kubernetes-models or in its own node_modules. */
const APIMACHINERY_DIR = [join(KUBERNETES_MODELS_DIR, "node_modules", "@kubernetes-models", "apimachinery"), join(KUBERNETES_MODELS_DIR, "..", "@kubernetes-models", "apimachinery")].find((dir) => existsSync(dir));

const classes = new Map<string, Promise<ModelClass>>();

/** "apps/v1" + "Deployment" → the module path under kubernetes-models ("v1" is the core group). */
function modelPath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

function modelClass(apiVersion: string, kind: string): Promise<ModelClass> {
  const path = modelPath(apiVersion, kind);
  let cls = classes.get(path);
  if (cls === undefined) {
    cls = (import(path) as Promise<Record<string, ModelClass>>).then((module) => {
      const found = module[kind];
      if (found === undefined) throw new Error(`${path} exports no ${kind}`);
      return found;
    });
    classes.set(path, cls);
  }
  return cls;
}

/* ---------- unknown fields, from the .d.ts interfaces ---------- */

/** A field's type as the declarations write it: a primitive (no check below it), an interface, a list or a map. */
type FieldType = { kind: "leaf" } | { kind: "ref"; file: string } | { kind: "array"; of: FieldType } | { kind: "map"; of: FieldType };
type Fields = Map<string, FieldType> | "open";

const interfaces = new Map<string, Fields>();

function resolveImport(fromFile: string, specifier: string): string {
  if (specifier.startsWith(".")) return resolve(dirname(fromFile), specifier.replace(/\.js$/, ".d.ts"));
  const prefix = "@kubernetes-models/apimachinery/";
  if (specifier.startsWith(prefix) && APIMACHINERY_DIR !== undefined) return join(APIMACHINERY_DIR, `${specifier.slice(prefix.length)}.d.ts`);
  return "";
}

function parseType(text: string, imports: Map<string, string>): FieldType {
  const type = text.trim();
  const array = /^Array<(.+)>$/.exec(type);
  if (array !== null) return { kind: "array", of: parseType(array[1]!, imports) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map !== null) return { kind: "map", of: parseType(map[1]!, imports) };
  const file = imports.get(type);
  return file === undefined || file === "" ? { kind: "leaf" } : { kind: "ref", file };
}

/** The fields of the interface a declaration file exports ("open" for a type alias: a string, a number, anything). */
function fieldsOf(file: string): Fields {
  let fields = interfaces.get(file);
  if (fields !== undefined) return fields;
  const source = readFileSync(file, "utf8");
  const imports = new Map<string, string>();
  for (const m of source.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) imports.set(m[1]!, resolveImport(file, m[2]!));
  const body = /export interface \w+(?: extends [\w, ]+)? \{([\s\S]*?)\n\}/.exec(source);
  if (body === null) fields = "open";
  else {
    fields = new Map();
    const flat = body[1]!.replace(/\/\*\*[\s\S]*?\*\//g, "").replace(/\s+/g, " ");
    for (const m of flat.matchAll(/"([^"]+)"\??: ((?:\{ \[key: string\]: [^;]+; \})|[^;]+);/g)) fields.set(m[1]!, parseType(m[2]!, imports));
  }
  interfaces.set(file, fields);
  return fields;
}

function walk(value: unknown, type: FieldType, path: string, out: string[]): void {
  if (value === null || value === undefined || type.kind === "leaf") return;
  if (type.kind === "array") {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, type.of, `${path}[${i}]`, out));
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) return;
  if (type.kind === "map") {
    for (const [key, item] of Object.entries(value)) walk(item, type.of, `${path}.${key}`, out);
    return;
  }
  const fields = fieldsOf(type.file);
  if (fields === "open") return;
  for (const [key, item] of Object.entries(value)) {
    const field = fields.get(key);
    if (field === undefined) out.push(`${path}.${key}: no such field`);
    else walk(item, field, `${path}.${key}`, out);
  }
}

/** Fields of `obj` that its kind does not have, as paths ("spec.template.spec.containers[0].readinesProbe: no such field"). */
export function unknownFields(obj: K8sObject): string[] {
  const file = join(KUBERNETES_MODELS_DIR, obj.apiVersion, `${obj.kind}.d.ts`);
  const out: string[] = [];
  walk(obj, { kind: "ref", file }, "", out);
  return out.map((p) => p.replace(/^\./, ""));
}

/* ---------- CRDs, by hand ---------- */

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DURATION = /^[0-9]+(ms|s|m|h)$/;

function checkCrd(obj: K8sObject): string[] {
  const errors: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) errors.push(what);
  };
  const isObject = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
  need(DNS_SUBDOMAIN.test(obj.metadata?.name ?? ""), "metadata.name must be a DNS subdomain");
  const spec = obj.spec;
  if (!isObject(spec)) return [...errors, "spec must be an object"];
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (key === "monitoring.coreos.com/v1/ServiceMonitor") {
    // The operator needs a selector and endpoints that name a Service port; intervals are Prometheus durations.
    need(isObject(spec.selector) && isObject(spec.selector.matchLabels) && Object.keys(spec.selector.matchLabels).length > 0, "spec.selector.matchLabels must select something");
    need(Array.isArray(spec.endpoints) && spec.endpoints.length > 0, "spec.endpoints must be a non-empty list");
    for (const [i, e] of (Array.isArray(spec.endpoints) ? spec.endpoints : []).entries()) {
      need(isObject(e) && typeof e.port === "string" && e.port !== "", `spec.endpoints[${i}].port must name a Service port`);
      need(e.path === undefined || (typeof e.path === "string" && e.path.startsWith("/")), `spec.endpoints[${i}].path must start with /`);
      for (const field of ["interval", "scrapeTimeout"]) need(e[field] === undefined || DURATION.test(String(e[field])), `spec.endpoints[${i}].${field} must be a duration`);
    }
    const allowed = new Set(["selector", "endpoints", "namespaceSelector", "jobLabel", "targetLabels", "podTargetLabels", "sampleLimit"]);
    for (const field of Object.keys(spec)) need(allowed.has(field), `spec.${field}: not a ServiceMonitor field this chart expects`);
  } else if (key === "keda.sh/v1alpha1/ScaledObject") {
    // KEDA needs a scale target, integer bounds, and triggers whose metadata values are all strings.
    const target = spec.scaleTargetRef;
    need(isObject(target) && typeof target.name === "string" && target.name !== "", "spec.scaleTargetRef.name is required");
    need(isObject(target) && (target.kind === undefined || typeof target.kind === "string"), "spec.scaleTargetRef.kind must be a string");
    for (const field of ["minReplicaCount", "maxReplicaCount", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod"]) {
      need(spec[field] === undefined || (Number.isInteger(spec[field]) && spec[field] >= 0), `spec.${field} must be a non-negative integer`);
    }
    need(spec.minReplicaCount === undefined || spec.maxReplicaCount === undefined || spec.minReplicaCount <= spec.maxReplicaCount, "spec.minReplicaCount must not exceed spec.maxReplicaCount");
    need(Array.isArray(spec.triggers) && spec.triggers.length > 0, "spec.triggers must be a non-empty list");
    for (const [i, t] of (Array.isArray(spec.triggers) ? spec.triggers : []).entries()) {
      need(isObject(t) && typeof t.type === "string", `spec.triggers[${i}].type is required`);
      need(t.metricType === undefined || ["AverageValue", "Value", "Utilization"].includes(t.metricType), `spec.triggers[${i}].metricType must be AverageValue, Value or Utilization`);
      need(isObject(t.metadata) && Object.values(t.metadata).every((v) => typeof v === "string"), `spec.triggers[${i}].metadata values must all be strings`);
    }
    if (spec.fallback !== undefined) need(Number.isInteger(spec.fallback.failureThreshold) && Number.isInteger(spec.fallback.replicas), "spec.fallback needs integer failureThreshold and replicas");
  } else {
    errors.push(`no check for the custom resource ${key}`);
  }
  return errors;
}

const CRDS = new Set(["monitoring.coreos.com/v1/ServiceMonitor", "keda.sh/v1alpha1/ScaledObject"]);

/** Every problem with `obj`, each prefixed with the object ("Deployment/demo-sigmaserve-worker: ..."); empty when valid. */
export async function validationErrors(obj: K8sObject): Promise<string[]> {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  if (CRDS.has(`${obj.apiVersion}/${obj.kind}`)) return checkCrd(obj).map((e) => `${where}: ${e}`);
  const errors: string[] = [];
  let cls: ModelClass;
  try {
    cls = await modelClass(obj.apiVersion, obj.kind);
  } catch (err) {
    return [`${where}: kubernetes-models has no ${obj.apiVersion} ${obj.kind} (${(err as Error).message})`];
  }
  try {
    new cls(obj).validate();
  } catch (err) {
    errors.push((err as Error).message);
  }
  errors.push(...unknownFields(obj));
  return errors.map((e) => `${where}: ${e}`);
}
