/**
 * Leader election through the bus (run inside coordBusScenarios, so against
 * the memory bus and a real nats-server alike): of two contenders one leads
 * and both agree who; closing the leader hands the lease over at once with a
 * higher term; bad options are refused. Expiry of a holder that died without
 * releasing, theft and outages are in core/bus-leader-election.test.ts.
 */
import * as assert from "node:assert/strict";
import { test } from "node:test";
import type { CoordBus } from "../coord-bus.js";
import { CoordArgumentError } from "../errors.js";
import type { ScenarioBusOptions } from "./coord-bus-scenarios.js";
import { uniqueWorkerId } from "./coord-fixtures.js";
import { sleep } from "./recorder.js";

const TTL_MS = 900;

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - started;
}

export function leaderElectionScenarios(impl: string, context: { connect(options?: ScenarioBusOptions): Promise<CoordBus> }): void {
  test(`coord-bus (${impl}) - leader election: of two contenders exactly one leads, and both see the same holder and term`, async () => {
    const [a, b] = [await context.connect(), await context.connect()];
    const name = uniqueWorkerId("lease");
    const changes: string[] = [];
    const first = await a.campaign({ name, holderId: "router-a", ttlMs: TTL_MS, onChange: (leading) => changes.push(`a ${leading}`) });
    const second = await b.campaign({ name, holderId: "router-b", ttlMs: TTL_MS, onChange: (leading) => changes.push(`b ${leading}`) });
    assert.equal(first.isLeader(), true, "the first contender takes a free lease");
    assert.equal(second.isLeader(), false);
    assert.deepEqual(second.current(), first.current());
    assert.equal(first.current().holderId, "router-a");
    // Renewals keep it: still one leader after several TTLs.
    await sleep(TTL_MS * 2.5);
    assert.deepEqual([first.isLeader(), second.isLeader()], [true, false]);
    assert.deepEqual(changes, ["a true"]);
    await first.close();
    await second.close();
  });

  test(`coord-bus (${impl}) - leader election: a leader that closes releases the lease and the other takes over within a third of the TTL, with the next term`, async () => {
    const [a, b] = [await context.connect(), await context.connect()];
    const name = uniqueWorkerId("lease");
    const first = await a.campaign({ name, holderId: "router-a", ttlMs: TTL_MS });
    const second = await b.campaign({ name, holderId: "router-b", ttlMs: TTL_MS });
    const term = first.current().term;
    await first.close();
    assert.equal(first.isLeader(), false);
    const tookMs = await until(() => second.isLeader(), TTL_MS, "router-b to lead");
    assert.ok(tookMs <= TTL_MS / 3 + 200, `took over in ${tookMs} ms`);
    assert.deepEqual(second.current(), { holderId: "router-b", term: term + 1n });
    await second.close();
  });

  test(`coord-bus (${impl}) - leader election: a bad name, holder id or TTL is refused naming the field`, async () => {
    const bus = await context.connect();
    await assert.rejects(bus.campaign({ name: "a.b", holderId: "r", ttlMs: TTL_MS }), (err: unknown) => err instanceof CoordArgumentError && /name/.test(err.message));
    await assert.rejects(bus.campaign({ name: "ok", holderId: "", ttlMs: TTL_MS }), (err: unknown) => err instanceof CoordArgumentError && /holderId/.test(err.message));
    await assert.rejects(bus.campaign({ name: "ok", holderId: "r", ttlMs: 10 }), (err: unknown) => err instanceof CoordArgumentError && /ttlMs/.test(err.message));
  });
}
