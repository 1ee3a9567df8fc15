/** LeaseBackend in one process: a map with one revision counter, shared by every bus on a MemoryCoordHub. */
import type { LeaseBackend, LeaseEntry } from "../core/lease-backend.js";

export class MemoryLeaseBackend implements LeaseBackend {
  readonly #entries = new Map<string, LeaseEntry>();
  #revision = 0n;

  async get(name: string): Promise<LeaseEntry | undefined> {
    const entry = this.#entries.get(name);
    return entry === undefined ? undefined : { value: entry.value.slice(), revision: entry.revision };
  }

  async create(name: string, value: Uint8Array): Promise<bigint | undefined> {
    if (this.#entries.has(name)) return undefined;
    return this.#put(name, value);
  }

  async update(name: string, value: Uint8Array, revision: bigint): Promise<bigint | undefined> {
    if (this.#entries.get(name)?.revision !== revision) return undefined;
    return this.#put(name, value);
  }

  async delete(name: string, revision: bigint): Promise<void> {
    if (this.#entries.get(name)?.revision === revision) this.#entries.delete(name);
  }

  #put(name: string, value: Uint8Array): bigint {
    const revision = ++this.#revision;
    this.#entries.set(name, { value: value.slice(), revision });
    return revision;
  }
}
