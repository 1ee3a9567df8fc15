import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenBucket } from "./token-bucket.js";

/** A clock the test moves by hand, ms. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let nowMs = 0;
  return { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

test("token-bucket - starts full, refuses past the burst and says when the next token comes", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(2, 2, clock.now);
  assert.equal(bucket.waitMs(1), 0);
  bucket.take(1);
  bucket.take(1);
  assert.equal(bucket.waitMs(1), 500, "2 per second: the next token in 500 ms");
  clock.advance(200);
  assert.equal(bucket.waitMs(1), 300);
  clock.advance(300);
  assert.equal(bucket.waitMs(1), 0);
  clock.advance(10_000);
  assert.equal(bucket.level, 2, "never past the burst");
});

test("token-bucket - a cost above the burst waits for a full bucket, then leaves debt that delays the next", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(100, 200, clock.now);
  bucket.take(50);
  assert.equal(bucket.waitMs(500), 500, "needs the full burst of 200: 50 missing at 100/s");
  clock.advance(500);
  assert.equal(bucket.waitMs(500), 0);
  bucket.take(500);
  assert.equal(bucket.level, -300);
  assert.equal(bucket.waitMs(10), 3_100, "310 tokens to refill at 100/s");
});

test("token-bucket - a refund gives back tokens, never past the burst; waits round up to whole ms", () => {
  const clock = manualClock();
  const bucket = new TokenBucket(3, 3, clock.now);
  bucket.take(3);
  assert.equal(bucket.waitMs(1), 334, "1/3 s rounded up");
  bucket.refund(2);
  assert.equal(bucket.level, 2);
  bucket.refund(5);
  assert.equal(bucket.level, 3);
  assert.throws(() => new TokenBucket(0, 1, clock.now), RangeError);
});
