import * as assert from "node:assert/strict";
import { test } from "node:test";
import { toBinary } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import type { WorkerEvent } from "../coord-bus.js";
import { MessageDecodeError } from "../errors.js";
import { workerInfo } from "../testing/coord-fixtures.js";
import { WorkerTable } from "./worker-table.js";

const TTL_MS = 150;

function bytesOf(info: coordv1.WorkerInfo): Uint8Array {
  return toBinary(coordv1.WorkerInfoSchema, info);
}

/** Events as short strings: "joined:w1", "left:w1:expired". */
function tableWithLog(): { table: WorkerTable; log: string[]; errors: Error[] } {
  const log: string[] = [];
  const errors: Error[] = [];
  const describe = (e: WorkerEvent) => (e.kind === "left" ? `left:${e.workerId}:${e.reason}` : `${e.kind}:${e.workerId}`);
  const table = new WorkerTable((e) => log.push(describe(e)), (err) => errors.push(err));
  return { table, log, errors };
}

/** A listing; `localTtlMs` null means "the backend reports expiry itself". */
const listing = (entries: Array<[string, Uint8Array]>, deleted: string[] = [], localTtlMs: number | null = TTL_MS) => ({
  entries: new Map(entries),
  deleted: new Set(deleted),
  localTtlMs: localTtlMs ?? undefined,
});

test("worker-table - puts become joined, updated (same epoch) and left+joined (new epoch); removes become left", () => {
  const { table, log } = tableWithLog();
  table.relist(listing([], [], null));
  table.put("w1", bytesOf(workerInfo("w1")));
  table.put("w1", bytesOf(workerInfo("w1")));
  const moved = workerInfo("w1");
  moved.grpcAddress = "10.0.0.9:1";
  table.put("w1", bytesOf(moved));
  table.put("w1", bytesOf(workerInfo("w1", 2n)));
  table.remove("w1", "deregistered");
  table.remove("w1", "deregistered");
  assert.deepEqual(log, ["joined:w1", "updated:w1", "left:w1:restarted", "joined:w1", "left:w1:deregistered"]);
  assert.equal(table.workers().size, 0);
  table.close();
});

test("worker-table - the same bytes again are a heartbeat: no event, and the local TTL starts over", (t) => {
  // Mock timers: the TTL logic is tested without depending on how busy the machine is.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { table, log } = tableWithLog();
  table.relist(listing([["w1", bytesOf(workerInfo("w1"))]]));
  for (let i = 0; i < 4; i++) {
    t.mock.timers.tick(TTL_MS / 2);
    table.put("w1", bytesOf(workerInfo("w1")));
  }
  assert.deepEqual(log, ["joined:w1"], "alive after twice the TTL");
  t.mock.timers.tick(TTL_MS * 2);
  assert.deepEqual(log, ["joined:w1", "left:w1:expired"]);
  table.close();
});

test("worker-table - a re-listing: deleted ids leave at once, missing ones get one TTL to come back before they are lost", (t) => {
  // Mock timers: the TTL logic is tested without depending on how busy the machine is.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { table, log } = tableWithLog();
  const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => bytesOf(workerInfo(id))) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  table.relist(listing([["a", a], ["b", b], ["c", c], ["d", d]]));
  log.length = 0;

  table.suspendExpiry();
  t.mock.timers.tick(TTL_MS * 2);
  assert.deepEqual(log, [], "nothing expires while suspended");

  // a: still listed. b: deregistered meanwhile. c and d: missing (expired, or the store was lost).
  table.relist(listing([["a", a]], ["b"]));
  assert.deepEqual(log, ["left:b:deregistered"]);
  t.mock.timers.tick(TTL_MS / 2);
  table.put("c", c); // c heartbeats within the grace
  table.put("a", a);
  t.mock.timers.tick(TTL_MS * 0.75);
  assert.deepEqual(log, ["left:b:deregistered", "left:d:lost"]);
  assert.deepEqual([...table.workers().keys()].sort(), ["a", "c"]);
  table.close();
});

test("worker-table - without a local TTL (the backend reports expiry), a missing id is lost at once", () => {
  const { table, log } = tableWithLog();
  table.relist(listing([["a", bytesOf(workerInfo("a"))]], [], null));
  table.relist(listing([], [], null));
  assert.deepEqual(log, ["joined:a", "left:a:lost"]);
  table.close();
});

test("worker-table - bad entries and throwing callbacks go to onError and leave the view consistent", () => {
  const errors: Error[] = [];
  const seen: string[] = [];
  const table = new WorkerTable(
    (e) => {
      seen.push(`${e.kind}:${e.workerId}`);
      throw new Error("callback bug");
    },
    (err) => errors.push(err),
  );
  table.relist(listing([], [], null));
  table.put("w1", new Uint8Array([0xff, 0xff, 0xff]));
  table.put("w2", bytesOf(workerInfo("someone-else")));
  table.put("w3", bytesOf(workerInfo("w3")));
  assert.ok(errors[0] instanceof MessageDecodeError);
  assert.match(errors[1]?.message ?? "", /registry key w2 holds the WorkerInfo of "someone-else"/);
  assert.equal(errors[2]?.message, "callback bug");
  assert.deepEqual(seen, ["joined:w3"]);
  assert.deepEqual([...table.workers().keys()], ["w3"]);
  table.close();
});
