/**
 * @sigmaserve/coord: the CoordBus (worker registry, heartbeats, KV-event
 * streams, control) over NATS or in memory. See coord-bus.ts for the model.
 */
export type {
  ControlContext,
  ControlHandlers,
  ControlRequestOptions,
  CoordBus,
  KvEventDelivery,
  KvSnapshotPage,
  Subscription,
  WorkerEvent,
  WorkerFilter,
  WorkerLeftReason,
  WorkerRegistration,
  WorkerWatch,
} from "./coord-bus.js";
export { CLUSTER_SECRET_BYTES } from "./core/cluster-secret.js";
export {
  DEFAULT_CONTROL_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REGISTRY_TTL_MS,
} from "./defaults.js";
export {
  ControlHandlerError,
  ControlTimeoutError,
  CoordArgumentError,
  CoordClosedError,
  CoordError,
  CoordUnavailableError,
  JetStreamDisabledError,
  KvDecodeError,
  MessageDecodeError,
  NatsSecurityConfigError,
  NoResponderError,
  PayloadTooLargeError,
} from "./errors.js";
export {
  kvComponentFromProto,
  kvComponentToProto,
  kvDtypeFromProto,
  kvDtypeToProto,
  kvTierFromProto,
  kvTierToProto,
  type KvComponent,
  type KvDtype,
  type KvTier,
} from "./core/kv-proto-enums.js";
export { startHeartbeats, type HeartbeatLoop, type HeartbeatLoopOptions } from "./heartbeat-loop.js";
export {
  checkWorkerId,
  CONTROL_SUBJECT_PREFIX,
  CONTROL_VERBS,
  controlSubject,
  KV_EVENTS_SUBJECT_PREFIX,
  KV_EVENTS_WILDCARD,
  kvEventsSubject,
  LEASES_BUCKET,
  SECRETS_BUCKET,
  LOAD_SUBJECT_PREFIX,
  LOAD_WILDCARD,
  loadSubject,
  MAX_WORKER_ID_LENGTH,
  REGISTRY_BUCKET,
  SUBJECT_ROOT,
  workerIdOfKvEventsSubject,
  type ControlVerb,
} from "./subjects.js";
export type { KvObjectInfo, KvObjectStore, KvObjectStoreOptions } from "./kv-object-store.js";
export type { LeaderElection, LeaderElectionOptions } from "./leader-election.js";
export { createMemoryCoordBus, type MemoryCoordBusOptions } from "./memory/memory-coord-bus.js";
export { MemoryCoordHub, type MemoryCoordHubOptions } from "./memory/memory-coord-hub.js";
export { connectNatsCoordBus } from "./nats/connect-nats-coord-bus.js";
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_CONNECTION_NAME,
  DEFAULT_JETSTREAM_TIMEOUT_MS,
  DEFAULT_MAX_PINGS_OUT,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_RECONNECT_WAIT_MS,
  type NatsCoordBusOptions,
} from "./nats/nats-coord-bus-options.js";
export {
  checkNatsSecurityOptions,
  hasNatsSecurityOptions,
  NATS_SECURITY_FLAGS,
  natsSecurityFlagsProblem,
  natsSecurityOptionsOf,
  type NatsSecurityFlagValues,
  type NatsSecurityOptions,
} from "./nats/nats-security-options.js";
