/**
 * Every name sigmaserve puts on NATS, in one place (DESIGN.md §8).
 *
 * A worker id is one subject token, so `sigmaserve.kv.*` matches exactly one
 * worker's stream and a KV key needs no encoding: letters, digits, `_` and `-`,
 * at most MAX_WORKER_ID_LENGTH characters. Pod names fit; dots do not (a dot
 * would split the id into two tokens and break every wildcard below).
 */
import { CoordArgumentError } from "./errors.js";

/** JetStream KV bucket of the registry: key = worker id, value = WorkerInfo protobuf. */
export const REGISTRY_BUCKET = "sigmaserve-workers";
/** JetStream KV bucket of leader leases (leader-election.ts): key = lease name, value = LeaderLease protobuf. */
export const LEASES_BUCKET = "sigmaserve-leases";
/** JetStream KV bucket of cluster secrets (CoordBus.clusterSecret): key = secret name, value = its random bytes. */
export const SECRETS_BUCKET = "sigmaserve-secrets";
/** Root token of every sigmaserve subject. */
export const SUBJECT_ROOT = "sigmaserve";
/** KvEventBatch streams: `sigmaserve.kv.<worker_id>`. */
export const KV_EVENTS_SUBJECT_PREFIX = `${SUBJECT_ROOT}.kv`;
/** Every worker's KV events. */
export const KV_EVENTS_WILDCARD = `${KV_EVENTS_SUBJECT_PREFIX}.*`;
/** WorkerLoad heartbeats (core NATS, not persisted): `sigmaserve.load.<worker_id>`. */
export const LOAD_SUBJECT_PREFIX = `${SUBJECT_ROOT}.load`;
/** Every worker's loads. */
export const LOAD_WILDCARD = `${LOAD_SUBJECT_PREFIX}.*`;
/** Control request/reply: `sigmaserve.ctl.<worker_id>.<verb>`. */
export const CONTROL_SUBJECT_PREFIX = `${SUBJECT_ROOT}.ctl`;

/** The verbs of the control plane; the last tokens of a control subject. */
export const CONTROL_VERBS = {
  /** KvSnapshotRequest → KvSnapshotResponse (one page of the worker's residency). */
  snapshot: "snapshot",
  /** DrainCommand → DrainStatus. */
  drain: "drain",
  /** MigrationOffer → MigrationReply, sent to the target worker. */
  migrateOffer: "migrate.offer",
  /** MigrationDone → (empty), sent by the target to the source. */
  migrateDone: "migrate.done",
  /** MigrationRequest → MigrationResult, sent to the source: move a chain to a target. */
  migrateRequest: "migrate.request",
} as const;
export type ControlVerb = (typeof CONTROL_VERBS)[keyof typeof CONTROL_VERBS];

/** Longest worker id accepted (a KV key and a subject token). */
export const MAX_WORKER_ID_LENGTH = 128;
const WORKER_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Throws CoordArgumentError unless `workerId` is a valid worker id; `field` names it in the message. */
export function checkWorkerId(workerId: string, field = "workerId"): void {
  if (workerId.length === 0 || workerId.length > MAX_WORKER_ID_LENGTH || !WORKER_ID_PATTERN.test(workerId)) {
    throw new CoordArgumentError(
      field,
      `must be 1-${MAX_WORKER_ID_LENGTH} characters of [A-Za-z0-9_-], got ${JSON.stringify(workerId)}`,
    );
  }
}

export function kvEventsSubject(workerId: string): string {
  checkWorkerId(workerId);
  return `${KV_EVENTS_SUBJECT_PREFIX}.${workerId}`;
}

/** The worker id of a subject `sigmaserve.kv.<worker_id>`, or undefined when it is not one. */
export function workerIdOfKvEventsSubject(subject: string): string | undefined {
  const prefix = `${KV_EVENTS_SUBJECT_PREFIX}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const workerId = subject.slice(prefix.length);
  return workerId.length > 0 && workerId.length <= MAX_WORKER_ID_LENGTH && WORKER_ID_PATTERN.test(workerId) ? workerId : undefined;
}

export function loadSubject(workerId: string): string {
  checkWorkerId(workerId);
  return `${LOAD_SUBJECT_PREFIX}.${workerId}`;
}

export function controlSubject(workerId: string, verb: ControlVerb): string {
  checkWorkerId(workerId);
  return `${CONTROL_SUBJECT_PREFIX}.${workerId}.${verb}`;
}
