/**
 * The remote tier on NATS (see kv-object-store.ts): a JetStream object store
 * bucket, created on first use with max_bytes and a TTL, so the server
 * enforces both. Objects are chunked by the client library.
 */
import { jetstream } from "@nats-io/jetstream";
import { Objm, StorageType, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KvObjectInfo, KvObjectStore, KvObjectStoreOptions } from "../kv-object-store.js";

export async function openNatsKvObjectStore(nc: NatsConnection, options: KvObjectStoreOptions, jetStreamTimeoutMs: number): Promise<KvObjectStore> {
  const objm = new Objm(jetstream(nc, { timeout: jetStreamTimeoutMs }));
  const store: ObjectStore = await objm.create(options.bucket, {
    max_bytes: options.maxBytes,
    ttl: options.ttlMs * 1_000_000, // nanoseconds
    storage: StorageType.File,
    description: "sigmaserve KV remote tier: one object per (block, component), a checksummed KV frame; metadata names the parent block",
  });
  return {
    put: async (name, bytes, metadata) => void (await store.putBlob({ name, metadata }, bytes)),
    get: (name) => store.getBlob(name),
    list: async (): Promise<KvObjectInfo[]> => (await store.list()).filter((info) => !info.deleted).map((info) => ({ name: info.name, size: info.size, metadata: { ...(info.metadata ?? {}) } })),
    delete: async (name) => void (await store.delete(name)),
  };
}
