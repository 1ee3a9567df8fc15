/**
 * The worker's registry handle. Every write (register's put, heartbeat's
 * re-put, update, deregister's delete) goes through one serial queue: a
 * heartbeat still in flight cannot re-put the old WorkerInfo after an update,
 * or resurrect the entry after deregister().
 */
import { coordv1 } from "@sigmaserve/proto";
import type { WorkerRegistration } from "../coord-bus.js";
import { CoordArgumentError, CoordClosedError } from "../errors.js";
import { loadSubject, REGISTRY_BUCKET } from "../subjects.js";
import { encodeGuarded } from "./codec.js";
import type { CoordTransport, RegistryBackend } from "./transport.js";

export interface RegistrationDeps {
  readonly registry: RegistryBackend;
  readonly transport: CoordTransport;
  /** The payload limit in force now. */
  limitBytes(): number;
  /** Throws CoordClosedError once the bus is closed. */
  assertOpen(): void;
}

/** The label the payload guard uses for a registry entry. */
export function registryEntryLabel(workerId: string): string {
  return `${REGISTRY_BUCKET}/${workerId}`;
}

export class BusWorkerRegistration implements WorkerRegistration {
  readonly workerId: string;
  readonly #deps: RegistrationDeps;
  #info: coordv1.WorkerInfo;
  #bytes: Uint8Array;
  #queue: Promise<unknown> = Promise.resolve();
  #deregistered = false;

  /** `bytes` is `info` encoded, already put by register(). */
  constructor(deps: RegistrationDeps, info: coordv1.WorkerInfo, bytes: Uint8Array) {
    this.#deps = deps;
    this.workerId = info.workerId;
    this.#info = info;
    this.#bytes = bytes;
  }

  get info(): coordv1.WorkerInfo {
    return this.#info;
  }

  heartbeat(load: coordv1.WorkerLoad): Promise<void> {
    return this.#serial(async () => {
      if (load.workerId !== this.workerId) {
        throw new CoordArgumentError("load.workerId", `must be ${JSON.stringify(this.workerId)}, got ${JSON.stringify(load.workerId)}`);
      }
      const subject = loadSubject(this.workerId);
      const loadBytes = encodeGuarded(coordv1.WorkerLoadSchema, load, subject, this.#deps.limitBytes());
      await this.#deps.registry.put(this.workerId, this.#bytes);
      this.#deps.transport.publish(subject, loadBytes);
    });
  }

  update(info: coordv1.WorkerInfo): Promise<void> {
    return this.#serial(async () => {
      if (info.workerId !== this.workerId) {
        throw new CoordArgumentError("info.workerId", `must stay ${JSON.stringify(this.workerId)}, got ${JSON.stringify(info.workerId)}`);
      }
      const bytes = encodeGuarded(coordv1.WorkerInfoSchema, info, registryEntryLabel(this.workerId), this.#deps.limitBytes());
      await this.#deps.registry.put(this.workerId, bytes);
      this.#info = info;
      this.#bytes = bytes;
    });
  }

  deregister(): Promise<void> {
    return this.#serial(async () => {
      await this.#deps.registry.delete(this.workerId);
      // NOTE: only after the delete succeeded; a failed one may be retried (or the TTL ends the entry).
      this.#deregistered = true;
    });
  }

  /** Runs `write` after every earlier write settles; refuses once deregistered or closed. */
  #serial(write: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (this.#deregistered) throw new CoordClosedError(`worker ${this.workerId} has deregistered`);
      this.#deps.assertOpen();
      await write();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }
}
