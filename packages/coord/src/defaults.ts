/**
 * Named defaults, with units, shared by both CoordBus implementations.
 *
 * Liveness model: a worker heartbeats every DEFAULT_HEARTBEAT_INTERVAL_MS; each
 * heartbeat publishes its WorkerLoad and re-puts its registry entry, which
 * restarts the entry's TTL. An entry not re-put within DEFAULT_REGISTRY_TTL_MS
 * is gone, so a worker is dropped after missing about four heartbeats in a row
 * (10 s / 2 s, minus the one in flight): long enough to ride out a GC pause or a
 * slow JetStream write, short enough that failover does the rest.
 */

/** How often a worker heartbeats (publishes its load and refreshes its registry entry). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000;
/** How long a registry entry lives without a heartbeat (the bucket's TTL in NATS). */
export const DEFAULT_REGISTRY_TTL_MS = 10_000;
/**
 * Largest encoded message the bus sends: 1 MiB, half the deployed server's
 * max_payload (infra/nats/nats.conf, 2 MiB). NATS's own limit surfaced as a
 * timeout in Dynamo (#9734); this guard fails first, by name, with the size.
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;
/** Control request timeout when the caller gives none. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 5_000;
