/**
 * The router-wide slots: admitted while a slot is free, queued up to the
 * limit, refused past it; a queued caller that gives up leaves the queue, and
 * one that gave up before it came is never queued (nothing would take it
 * out until a slot freed: the slot-leak family of issue 15).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { OverloadedError } from "../errors.js";
import { AdmissionController } from "./admission-controller.js";

test("admission - slots, then the queue, then OverloadedError with the retry hint; a release admits the next in line", async () => {
  const admission = new AdmissionController({ maxInFlight: 1, maxQueued: 1, retryAfterMs: 250 });
  const first = await admission.acquire();
  const second = admission.acquire();
  assert.deepEqual(admission.stats, { inFlight: 1, queued: 1 });
  await assert.rejects(admission.acquire(), (err: unknown) => err instanceof OverloadedError && err.retryAfterMs === 250);
  first();
  first(); // a second release of the same request changes nothing
  const release = await second;
  assert.deepEqual(admission.stats, { inFlight: 1, queued: 0 });
  release();
  assert.deepEqual(admission.stats, { inFlight: 0, queued: 0 });
});

test("admission - a caller whose signal aborted is never queued, and one that aborts while queued leaves the queue", async () => {
  const admission = new AdmissionController({ maxInFlight: 1, maxQueued: 4 });
  const held = await admission.acquire();
  const gone = new AbortController();
  gone.abort(new Error("deadline passed"));
  await assert.rejects(admission.acquire(gone.signal), /deadline passed/);
  assert.deepEqual(admission.stats, { inFlight: 1, queued: 0 });
  const leaving = new AbortController();
  const waiting = admission.acquire(leaving.signal);
  assert.deepEqual(admission.stats, { inFlight: 1, queued: 1 });
  leaving.abort(new Error("client left"));
  await assert.rejects(waiting, /client left/);
  held();
  assert.deepEqual(admission.stats, { inFlight: 0, queued: 0 });
});
