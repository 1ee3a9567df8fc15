/**
 * LeaseBackend on the JetStream KV bucket LEASES_BUCKET (history 1, no TTL:
 * a lease's expiry is in its value), or on SECRETS_BUCKET for cluster secrets. Compare-and-set is JetStream's "expected
 * last subject sequence": a write against a stale revision fails with
 * StreamWrongLastSequence, which is the "someone else won" answer here.
 */
import { JetStreamApiError, jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { LeaseBackend, LeaseEntry } from "../core/lease-backend.js";
import { LEASES_BUCKET, SECRETS_BUCKET } from "../subjects.js";
import { mapConnectionError } from "./nats-errors.js";

const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);
const isLostRace = (err: unknown) => err instanceof JetStreamApiError && WRONG_LAST_SEQUENCE.has(err.code);

/** Which JetStream KV bucket a NatsLeaseBackend keeps its entries in. */
export interface LeaseBucket {
  name: string;
  description: string;
}

const LEASES_KV: LeaseBucket = {
  name: LEASES_BUCKET,
  description: "sigmaserve leader leases: key = lease name, value = LeaderLease protobuf (holder, expiry, term)",
};

/** Cluster secrets (CoordBus.clusterSecret): the same create-once compare-and-set, in a bucket of their own so NATS permissions can fence it off. */
export const SECRETS_KV: LeaseBucket = { name: SECRETS_BUCKET, description: "sigmaserve cluster secrets: key = secret name, value = random bytes" };

export class NatsLeaseBackend implements LeaseBackend {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #bucketSpec: LeaseBucket;
  #kv: Promise<KV> | undefined;

  constructor(nc: NatsConnection, jetStreamTimeoutMs: number, bucket: LeaseBucket = LEASES_KV) {
    this.#nc = nc;
    this.#timeoutMs = jetStreamTimeoutMs;
    this.#bucketSpec = bucket;
  }

  async get(name: string): Promise<LeaseEntry | undefined> {
    const entry = await this.#call(`lease get ${name}`, async (kv) => kv.get(name));
    if (entry === null || entry.operation !== "PUT") return undefined;
    return { value: entry.value, revision: BigInt(entry.revision) };
  }

  async create(name: string, value: Uint8Array): Promise<bigint | undefined> {
    try {
      return BigInt(await (await this.#bucket()).create(name, value));
    } catch (err) {
      if (isLostRace(err)) return undefined;
      this.#forgetOnMissing();
      throw mapConnectionError(err, `lease create ${name}`);
    }
  }

  async update(name: string, value: Uint8Array, revision: bigint): Promise<bigint | undefined> {
    try {
      return BigInt(await (await this.#bucket()).update(name, value, Number(revision)));
    } catch (err) {
      if (isLostRace(err)) return undefined;
      this.#forgetOnMissing();
      throw mapConnectionError(err, `lease update ${name}`);
    }
  }

  async delete(name: string, revision: bigint): Promise<void> {
    try {
      await (await this.#bucket()).delete(name, { previousSeq: Number(revision) });
    } catch (err) {
      if (isLostRace(err)) return;
      throw mapConnectionError(err, `lease delete ${name}`);
    }
  }

  async #call<T>(what: string, op: (kv: KV) => Promise<T>): Promise<T> {
    try {
      return await op(await this.#bucket());
    } catch (err) {
      this.#forgetOnMissing();
      throw mapConnectionError(err, what);
    }
  }

  /** After a failure the bucket may be gone (a server restarted empty): open (create) it again next time. */
  #forgetOnMissing(): void {
    this.#kv = undefined;
  }

  #bucket(): Promise<KV> {
    if (this.#kv !== undefined) return this.#kv;
    const created = new Kvm(jetstream(this.#nc, { timeout: this.#timeoutMs })).create(this.#bucketSpec.name, {
      history: 1,
      description: this.#bucketSpec.description,
    });
    created.catch(() => {
      if (this.#kv === created) this.#kv = undefined;
    });
    this.#kv = created;
    return created;
  }
}
