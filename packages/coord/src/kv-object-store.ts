/**
 * The shared remote tier of KV blocks: a bounded object store on the bus
 * (DESIGN.md §8: the one place KV bytes ride NATS). Objects are named by the
 * caller (a block hash and a component) and carry string metadata (the
 * parent hash); the store evicts by size (`maxBytes`: the oldest objects go
 * first) and by age (`ttlMs`). On NATS it is a JetStream object store; in a
 * single process, a map held by the memory hub, with the same limits.
 * Integrity is the payload's own business: KV frames carry their checksums.
 */

export interface KvObjectStoreOptions {
  /** Bucket name: letters, digits, `-` and `_`. */
  bucket: string;
  /** Most bytes the bucket keeps. */
  maxBytes: number;
  /** How long an object lives, ms. */
  ttlMs: number;
}

export interface KvObjectInfo {
  name: string;
  /** Payload bytes. */
  size: number;
  metadata: Record<string, string>;
}

export interface KvObjectStore {
  /** Stores (or replaces) an object. */
  put(name: string, bytes: Uint8Array, metadata: Record<string, string>): Promise<void>;
  /** The object's bytes, or null when it is not (or no longer) there. */
  get(name: string): Promise<Uint8Array | null>;
  /** Every object there now. */
  list(): Promise<KvObjectInfo[]>;
  delete(name: string): Promise<void>;
}
