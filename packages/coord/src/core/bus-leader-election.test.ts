/**
 * BusLeaderElection over the memory LeaseBackend, where the test can do what
 * the bus scenarios cannot: leave a lease behind as a crashed holder would,
 * overwrite it under its holder, and cut the backend off.
 */
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import { MemoryLeaseBackend } from "../memory/memory-lease-backend.js";
import { sleep } from "../testing/recorder.js";
import { BusLeaderElection } from "./bus-leader-election.js";
import type { LeaseBackend } from "./lease-backend.js";

const TTL_MS = 600;
const lease = (holderId: string, expiresAtMs: number, term: bigint) =>
  toBinary(coordv1.LeaderLeaseSchema, create(coordv1.LeaderLeaseSchema, { holderId, expiresAtUnixMs: BigInt(expiresAtMs), term }));

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms`);
    await sleep(5);
  }
  return Date.now();
}

test("leader election - a lease left by a holder that died is taken when it expires, not before", async () => {
  const backend = new MemoryLeaseBackend();
  const expiresAtMs = Date.now() + TTL_MS;
  await backend.create("autoscaler", lease("crashed", expiresAtMs, 7n));
  const errors: Error[] = [];
  const election = new BusLeaderElection(backend, { name: "autoscaler", holderId: "router-b", ttlMs: TTL_MS }, (err) => errors.push(err));
  await election.start();
  assert.equal(election.isLeader(), false);
  assert.deepEqual(election.current(), { holderId: "crashed", term: 7n });
  const ledAt = await until(() => election.isLeader(), TTL_MS * 2);
  assert.ok(ledAt >= expiresAtMs, "not before the dead holder's lease expired");
  assert.ok(ledAt - expiresAtMs < TTL_MS / 3, `soon after it expired (${ledAt - expiresAtMs} ms)`);
  assert.deepEqual(election.current(), { holderId: "router-b", term: 8n });
  await election.close();
  assert.equal(await backend.get("autoscaler"), undefined, "closing released the lease");
  assert.deepEqual(errors, []);
});

test("leader election - a holder whose entry is changed under it stops leading at its next renewal", async () => {
  const backend = new MemoryLeaseBackend();
  const changes: boolean[] = [];
  const election = new BusLeaderElection(backend, { name: "autoscaler", holderId: "router-a", ttlMs: TTL_MS, onChange: (leading) => changes.push(leading) }, () => {});
  await election.start();
  assert.equal(election.isLeader(), true);
  const entry = (await backend.get("autoscaler"))!;
  await backend.update("autoscaler", lease("intruder", Date.now() + 60_000, 99n), entry.revision);
  await until(() => !election.isLeader(), TTL_MS);
  assert.deepEqual(changes, [true, false]);
  await sleep(TTL_MS / 2);
  assert.equal(election.isLeader(), false, "it does not take an unexpired lease back");
  assert.equal(election.current().holderId, "intruder");
  await election.close();
  assert.equal((await backend.get("autoscaler")) !== undefined, true, "closing did not delete someone else's lease");
});

test("leader election - a holder cut off from the store stops leading before its lease can expire, and leads again when it is back", async () => {
  const inner = new MemoryLeaseBackend();
  let down = false;
  const fail = () => Promise.reject(new Error("store unreachable"));
  const backend: LeaseBackend = {
    get: (name) => (down ? fail() : inner.get(name)),
    create: (name, value) => (down ? fail() : inner.create(name, value)),
    update: (name, value, revision) => (down ? fail() : inner.update(name, value, revision)),
    delete: (name, revision) => (down ? fail() : inner.delete(name, revision)),
  };
  const errors: string[] = [];
  const election = new BusLeaderElection(backend, { name: "autoscaler", holderId: "router-a", ttlMs: TTL_MS }, (err) => errors.push(err.message));
  await election.start();
  assert.equal(election.isLeader(), true);
  // The last renewal before the cut set the expiry; leadership must end before it.
  down = true;
  const renewedExpiry = Date.now() + TTL_MS;
  const steppedDownAt = await until(() => !election.isLeader(), TTL_MS * 2);
  assert.ok(steppedDownAt < renewedExpiry, "stepped down before the lease could expire");
  assert.ok(errors.length > 0 && errors.every((m) => m === "store unreachable"));
  down = false;
  await until(() => election.isLeader(), TTL_MS * 2);
  await election.close();
});

test("leader election - contenders racing for a free lease: exactly one wins", async () => {
  const backend = new MemoryLeaseBackend();
  const elections = Array.from({ length: 5 }, (_, i) => new BusLeaderElection(backend, { name: "autoscaler", holderId: `router-${i}`, ttlMs: TTL_MS }, () => {}));
  await Promise.all(elections.map((e) => e.start()));
  assert.equal(elections.filter((e) => e.isLeader()).length, 1);
  await Promise.all(elections.map((e) => e.close()));
});
