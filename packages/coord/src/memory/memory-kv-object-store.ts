/**
 * The remote tier of a single process (see kv-object-store.ts): objects in a
 * map, the oldest evicted first past maxBytes, each dropped after ttlMs.
 */
import type { KvObjectInfo, KvObjectStore, KvObjectStoreOptions } from "../kv-object-store.js";

interface StoredObject {
  bytes: Uint8Array;
  metadata: Record<string, string>;
  storedAtMs: number;
}

export class MemoryKvObjectStore implements KvObjectStore {
  /** Insertion order is age order. */
  private readonly objects = new Map<string, StoredObject>();
  private bytes = 0;

  constructor(
    private readonly options: KvObjectStoreOptions,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async put(name: string, bytes: Uint8Array, metadata: Record<string, string>): Promise<void> {
    await this.delete(name);
    this.objects.set(name, { bytes: bytes.slice(), metadata: { ...metadata }, storedAtMs: this.nowMs() });
    this.bytes += bytes.byteLength;
    for (const [oldest, object] of this.objects) {
      if (this.bytes <= this.options.maxBytes) break;
      this.objects.delete(oldest);
      this.bytes -= object.bytes.byteLength;
    }
  }

  async get(name: string): Promise<Uint8Array | null> {
    this.expire();
    return this.objects.get(name)?.bytes.slice() ?? null;
  }

  async list(): Promise<KvObjectInfo[]> {
    this.expire();
    return [...this.objects].map(([name, o]) => ({ name, size: o.bytes.byteLength, metadata: { ...o.metadata } }));
  }

  async delete(name: string): Promise<void> {
    const object = this.objects.get(name);
    if (object === undefined) return;
    this.objects.delete(name);
    this.bytes -= object.bytes.byteLength;
  }

  private expire(): void {
    const cutoff = this.nowMs() - this.options.ttlMs;
    for (const [name, object] of this.objects) {
      if (object.storedAtMs > cutoff) break;
      this.objects.delete(name);
      this.bytes -= object.bytes.byteLength;
    }
  }
}
