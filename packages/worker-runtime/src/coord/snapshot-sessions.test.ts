import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvSnapshot } from "@sigmaserve/kvcache";
import { SnapshotPageTokenError } from "../errors.js";
import { DEFAULT_MAX_SNAPSHOT_SESSIONS, DEFAULT_SNAPSHOT_SESSION_TTL_MS, SnapshotSessions } from "./snapshot-sessions.js";

/** Pages of one snapshot: page i holds the single hash `tag * 100 + i`. */
function pages(tag: number, count: number): KvSnapshot[] {
  return Array.from({ length: count }, (_, i) => ({ workerId: "w1", epoch: 1n, asOfSeq: tag, residency: [{ component: "k", tier: "device", blockHashes: [BigInt(tag * 100 + i)] }] }));
}

/** A hand-driven clock. */
function clock(startMs = 5_000) {
  const c = { nowMs: startMs, read: () => c.nowMs };
  return c;
}

function tokenError(run: () => unknown): SnapshotPageTokenError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof SnapshotPageTokenError, String(err));
    return err;
  }
  assert.fail("served a page");
}

test("snapshot sessions - the defaults: 30 s after the last page, 16 open sessions", () => {
  assert.equal(DEFAULT_SNAPSHOT_SESSION_TTL_MS, 30_000);
  assert.equal(DEFAULT_MAX_SNAPSHOT_SESSIONS, 16);
  const sessions = new SnapshotSessions();
  assert.deepEqual([sessions.ttlMs, sessions.maxSessions], [30_000, 16]);
});

test("snapshot sessions - pages are served in token order and the last page ends the session", () => {
  const sessions = new SnapshotSessions({ nowMs: clock().read });
  const all = pages(1, 3);
  assert.deepEqual(sessions.open(all), { page: all[0], nextPageToken: "0:1" });
  assert.equal(sessions.size, 1);
  assert.deepEqual(sessions.next("0:1"), { page: all[1], nextPageToken: "0:2" });
  assert.deepEqual(sessions.next("0:2"), { page: all[2], nextPageToken: "" });
  assert.equal(sessions.size, 0);
  assert.equal(tokenError(() => sessions.next("0:2")).problem, "finished");
});

test("snapshot sessions - a one-page snapshot opens no session", () => {
  const sessions = new SnapshotSessions({ nowMs: clock().read });
  const one = pages(2, 1);
  assert.deepEqual(sessions.open(one), { page: one[0], nextPageToken: "" });
  assert.equal(sessions.size, 0);
});

test("snapshot sessions - a token expires ttlMs after the last page was served, with a clear error", () => {
  const time = clock();
  const sessions = new SnapshotSessions({ ttlMs: 1_000, nowMs: time.read });
  const all = pages(1, 4);
  sessions.open(all);
  time.nowMs += 999;
  assert.deepEqual(sessions.next("0:1").page, all[1], "1 ms before the TTL the page is served, and the TTL restarts");
  time.nowMs += 999;
  assert.deepEqual(sessions.next("0:2").page, all[2]);
  time.nowMs += 1_000;
  const err = tokenError(() => sessions.next("0:3"));
  assert.deepEqual([err.name, err.token, err.problem], ["SnapshotPageTokenError", "0:3", "expired"]);
  assert.equal(err.message, 'snapshot page token "0:3" expired: a paging session ends 1000 ms after its last page was served; ask again with an empty page token');
  assert.equal(sessions.size, 0, "the expired session is gone");
  assert.equal(tokenError(() => sessions.next("0:3")).problem, "expired", "and its token keeps saying why");
});

test("snapshot sessions - opening a session prunes the expired ones", () => {
  const time = clock();
  const sessions = new SnapshotSessions({ ttlMs: 1_000, nowMs: time.read });
  sessions.open(pages(1, 2));
  sessions.open(pages(2, 2));
  time.nowMs += 1_000;
  sessions.open(pages(3, 2));
  assert.equal(sessions.size, 1);
  assert.equal(tokenError(() => sessions.next("0:1")).problem, "expired");
  assert.equal(tokenError(() => sessions.next("1:1")).problem, "expired");
  assert.deepEqual(sessions.next("2:1").page, pages(3, 2)[1]);
});

test("snapshot sessions - at the cap, a new session ends the least recently used one", () => {
  const time = clock();
  const sessions = new SnapshotSessions({ maxSessions: 2, nowMs: time.read });
  sessions.open(pages(1, 3)); // session 0
  sessions.open(pages(2, 3)); // session 1
  time.nowMs += 10;
  sessions.next("0:1"); // session 0 is now the more recently used
  sessions.open(pages(3, 3)); // session 2 ends session 1
  assert.equal(sessions.size, 2);
  const err = tokenError(() => sessions.next("1:1"));
  assert.equal(err.problem, "evicted");
  assert.equal(err.message, 'snapshot page token "1:1" expired: its paging session was ended to make room for newer ones; ask again with an empty page token');
  assert.deepEqual(sessions.next("0:2").page, pages(1, 3)[2]);
  assert.deepEqual(sessions.next("2:1").page, pages(3, 3)[1]);
});

test("snapshot sessions - malformed and unknown tokens are refused by name", () => {
  const sessions = new SnapshotSessions({ nowMs: clock().read });
  sessions.open(pages(1, 2));
  assert.equal(tokenError(() => sessions.next("zero:1")).problem, "malformed");
  assert.equal(tokenError(() => sessions.next("0:1:2")).problem, "malformed");
  assert.equal(tokenError(() => sessions.next("7:1")).problem, "unknown");
  assert.equal(tokenError(() => sessions.next("0:5")).problem, "unknown", "a page past the end");
  assert.equal(tokenError(() => sessions.next("0:0")).problem, "unknown", "page 0 is only served by opening");
  assert.deepEqual(sessions.next("0:1").page, pages(1, 2)[1], "a refused token leaves the session alone");
});
