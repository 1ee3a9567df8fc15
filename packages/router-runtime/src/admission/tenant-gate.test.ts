import assert from "node:assert/strict";
import { test } from "node:test";
import type { Tenant } from "../auth/api-keys.js";
import { OverloadedError, TenantLimitError } from "../errors.js";
import { AdmissionController } from "./admission-controller.js";
import { TenantGate, type TenantLimits } from "./tenant-gate.js";

const NO_RATES = { requestsPerS: 0, tokensPerS: 0 };
const tenant = (id: string, limits?: Tenant["limits"]): Tenant => ({ id, cacheSalt: `salt-${id}`, ...(limits === undefined ? {} : { limits }) });
/** A request of `promptTokens` prompt tokens asking for `maxTokens`. */
const claim = (who: Tenant, promptTokens = 10, maxTokens = 90) => ({ tenant: who, request: { promptTokens: new Array<number>(promptTokens).fill(1), sampling: { maxTokens } } });

function setUp(limits: Partial<TenantLimits>, router = { maxInFlight: 4, maxQueued: 4 }) {
  let nowMs = 0;
  const limited: string[] = [];
  const gate = new TenantGate({ limits: { maxInFlight: 2, maxQueued: 1, ...NO_RATES, ...limits }, clock: () => nowMs, onLimited: (t, l) => limited.push(`${t}:${l}`) });
  const admission = new AdmissionController({ ...router, tenants: gate });
  return { gate, admission, limited, advance: (ms: number) => void (nowMs += ms) };
}

/** Whether a promise has settled after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

test("tenant-gate - tenant A at its in-flight cap queues, then is refused; tenant B is admitted meanwhile", async () => {
  const { admission, gate, limited } = setUp({ maxInFlight: 2, maxQueued: 1 });
  const a = tenant("a");
  const first = await admission.acquire(undefined, claim(a));
  await admission.acquire(undefined, claim(a));
  const queued = admission.acquire(undefined, claim(a));
  assert.equal(await settled(queued), false, "A's third waits for one of A's own slots");
  await assert.rejects(admission.acquire(undefined, claim(a)), (err: unknown) => {
    assert.ok(err instanceof TenantLimitError);
    assert.equal(err.message, 'tenant "a" is at its limit of 2 requests in flight, with 1 more queued; retry later');
    assert.deepEqual([err.tenant, err.limit, err.retryAfterMs], ["a", "in_flight", 1_000]);
    return true;
  });
  const b = await admission.acquire(undefined, claim(tenant("b")));
  assert.deepEqual([gate.stats("a"), gate.stats("b"), admission.stats], [{ inFlight: 2, queued: 1 }, { inFlight: 1, queued: 0 }, { inFlight: 3, queued: 0 }]);
  first();
  first();
  assert.equal(await settled(queued), true, "A's slot passed to its queued request (once, however often released)");
  assert.deepEqual([gate.stats("a"), admission.stats], [{ inFlight: 2, queued: 0 }, { inFlight: 3, queued: 0 }]);
  b();
  assert.deepEqual(limited, ["a:in_flight"]);
});

test("tenant-gate - the old defect: one tenant's streams leave the others router slots (4 slots, share 2)", async () => {
  const { admission } = setUp({ maxInFlight: 2, maxQueued: 40 }, { maxInFlight: 4, maxQueued: 0 });
  const a = tenant("a");
  const waiting = Array.from({ length: 40 }, () => admission.acquire(undefined, claim(a)));
  await settled(Promise.resolve());
  assert.deepEqual(admission.stats, { inFlight: 2, queued: 0 }, "A holds 2 router slots, 38 wait at its own gate");
  for (const id of ["b", "c"]) await admission.acquire(undefined, claim(tenant(id)));
  assert.deepEqual(admission.stats, { inFlight: 4, queued: 0 });
  await assert.rejects(admission.acquire(undefined, claim(tenant("d"))), OverloadedError, "the router itself is full now");
  void waiting;
});

test("tenant-gate - requests per second: the refusal names the limit and the exact wait; the router slot is untouched", async () => {
  const { admission, advance, limited } = setUp({ maxInFlight: 10, requestsPerS: 2 });
  const a = tenant("a");
  (await admission.acquire(undefined, claim(a)))();
  (await admission.acquire(undefined, claim(a)))();
  await assert.rejects(admission.acquire(undefined, claim(a)), (err: unknown) => {
    assert.ok(err instanceof TenantLimitError);
    assert.equal(err.message, 'tenant "a" is over its limit of 2 requests/s (burst 2); retry in 500 ms');
    assert.deepEqual([err.limit, err.retryAfterMs], ["requests_per_s", 500]);
    return true;
  });
  advance(125);
  await assert.rejects(admission.acquire(undefined, claim(a)), (err: unknown) => err instanceof TenantLimitError && err.retryAfterMs === 375);
  (await admission.acquire(undefined, claim(tenant("b"))))();
  advance(375);
  (await admission.acquire(undefined, claim(a)))();
  assert.deepEqual(admission.stats, { inFlight: 0, queued: 0 });
  assert.deepEqual(limited, ["a:requests_per_s", "a:requests_per_s"]);
});

test("tenant-gate - tokens per second reserve prompt + max_tokens; the unused part is refunded at release", async () => {
  const { admission, advance } = setUp({ maxInFlight: 10, tokensPerS: 100, tokensBurst: 300 });
  const a = tenant("a");
  const first = await admission.acquire(undefined, claim(a, 10, 190)); // reserves 200, 100 left
  await assert.rejects(admission.acquire(undefined, claim(a, 10, 190)), (err: unknown) => {
    assert.ok(err instanceof TenantLimitError);
    assert.equal(err.message, 'tenant "a" is over its limit of 100 tokens/s (prompt + max_tokens; burst 300, this request reserves 200); retry in 1000 ms');
    assert.deepEqual([err.limit, err.retryAfterMs], ["tokens_per_s", 1_000]);
    return true;
  });
  first(30); // it used 30 of its 200: 170 come back, 270 held
  (await admission.acquire(undefined, claim(a, 10, 190)))();
  await assert.rejects(admission.acquire(undefined, claim(a, 10, 190)), (err: unknown) => err instanceof TenantLimitError && err.retryAfterMs === 1_300);
  advance(1_300);
  (await admission.acquire(undefined, claim(a, 10, 190)))();
});

test("tenant-gate - a keys-file override replaces the router's limits for that tenant only", async () => {
  const { admission } = setUp({ maxInFlight: 1, maxQueued: 0, requestsPerS: 1 });
  const vip = tenant("vip", { maxInFlight: 3, requestsPerS: 0 });
  for (let i = 0; i < 3; i++) await admission.acquire(undefined, claim(vip));
  await assert.rejects(admission.acquire(undefined, claim(vip)), (err: unknown) => err instanceof TenantLimitError && err.limit === "in_flight");
  const other = tenant("other");
  await admission.acquire(undefined, claim(other));
  await assert.rejects(admission.acquire(undefined, claim(other)), (err: unknown) => err instanceof TenantLimitError && err.limit === "requests_per_s");
});

test("tenant-gate - a request refused by the full router, or cancelled in its tenant's queue, gives back its slot and its tokens", async () => {
  const { admission, gate } = setUp({ maxInFlight: 1, maxQueued: 1, requestsPerS: 2 }, { maxInFlight: 1, maxQueued: 0 });
  const release = await admission.acquire(undefined, claim(tenant("b")));
  await assert.rejects(admission.acquire(undefined, claim(tenant("a"))), OverloadedError);
  assert.deepEqual(gate.stats("a"), { inFlight: 0, queued: 0 });
  release();
  const held = await admission.acquire(undefined, claim(tenant("a")));
  const controller = new AbortController();
  const queued = admission.acquire(controller.signal, claim(tenant("a")));
  assert.deepEqual(gate.stats("a"), { inFlight: 1, queued: 1 });
  controller.abort(new Error("client left"));
  await assert.rejects(queued, /client left/);
  assert.deepEqual(gate.stats("a"), { inFlight: 1, queued: 0 });
  held();
  // Both cancelled requests got their request token back: the bucket (burst 2) still admits one now.
  assert.deepEqual(gate.stats("a"), { inFlight: 0, queued: 0 });
  (await admission.acquire(undefined, claim(tenant("a"))))();
});
