/**
 * decideScale, rule by rule, and a replay of a load spike through time that
 * counts the decisions: one step per interval, no step during the warm-up,
 * scale-down only after the stabilization window, and no up/down flapping
 * when the load sits inside the hysteresis band.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AutoscaleSignals } from "./autoscale-signals.js";
import { DEFAULT_SCALE_POLICY, decideScale, type ScaleMemory, type ScalePolicyOptions } from "./scale-policy.js";

const OPTIONS: ScalePolicyOptions = { ...DEFAULT_SCALE_POLICY, minWorkers: 1, maxWorkers: 4, ttftSloMs: 500 };
const FRESH: ScaleMemory = { lastScaleUpAtMs: undefined, downSinceMs: undefined };

const signals = (over: Partial<AutoscaleSignals> = {}): AutoscaleSignals => ({
  ready: 2,
  starting: 0,
  draining: 0,
  waitingPerWorker: 0,
  runningPerWorker: 0,
  kv: { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } },
  kvPeak: 0,
  kvPeakPool: "k/device",
  ttftP90Ms: null,
  admissionRejections: 0,
  ...over,
});

test("scale policy - each up signal alone scales up by one, naming itself", () => {
  const cases: [Partial<AutoscaleSignals>, RegExp][] = [
    [{ waitingPerWorker: 2 }, /waiting 2\.00\/worker >= 2/],
    [{ kvPeak: 0.9, kvPeakPool: "v/host" }, /v\/host usage 0\.90 >= 0\.85/],
    [{ ttftP90Ms: 800 }, /TTFT p90 800 ms > SLO 500 ms/],
    [{ admissionRejections: 3 }, /3 admission rejections/],
  ];
  for (const [over, reason] of cases) {
    const { decision, memory } = decideScale({ nowMs: 1_000, signals: signals(over), desired: 2 }, FRESH, OPTIONS);
    assert.equal(decision.action, "up", JSON.stringify(over));
    assert.equal(decision.action === "up" && decision.by, 1);
    assert.match(decision.reason, reason);
    assert.equal(memory.lastScaleUpAtMs, 1_000);
  }
});

test("scale policy - K and V are separate signals: a full V pool scales up while K is nearly empty", () => {
  const s = signals({ kv: { k: { device: 0.1, host: 0 }, v: { device: 0.2, host: 0.9 } }, kvPeak: 0.9, kvPeakPool: "v/host" });
  assert.equal(decideScale({ nowMs: 0, signals: s, desired: 2 }, FRESH, OPTIONS).decision.action, "up");
});

test("scale policy - min and max win: below min steps up, above max steps down, at max holds", () => {
  assert.deepEqual(decideScale({ nowMs: 0, signals: signals({ ready: 0 }), desired: 0 }, FRESH, OPTIONS).decision, { action: "up", by: 1, reason: "below min (0 < 1)" });
  assert.deepEqual(decideScale({ nowMs: 0, signals: signals({ ready: 5 }), desired: 5 }, FRESH, OPTIONS).decision, { action: "down", by: 1, reason: "above max (5 > 4)" });
  const atMax = decideScale({ nowMs: 0, signals: signals({ ready: 4, waitingPerWorker: 9 }), desired: 4 }, FRESH, OPTIONS).decision;
  assert.equal(atMax.action, "hold");
  assert.match(atMax.reason, /^at max \(4\)/);
});

test("scale policy - after a scale-up it holds for the warm-up, both ways", () => {
  const memory: ScaleMemory = { lastScaleUpAtMs: 0, downSinceMs: undefined };
  for (const over of [{ waitingPerWorker: 5 }, {}]) {
    const { decision } = decideScale({ nowMs: 30_000, signals: signals(over), desired: 3 }, memory, OPTIONS);
    assert.equal(decision.action, "hold");
    assert.match(decision.reason, /warming up a new worker for 30 s more/);
  }
  assert.equal(decideScale({ nowMs: 60_000, signals: signals({ ready: 3, waitingPerWorker: 5 }), desired: 3 }, memory, OPTIONS).decision.action, "up");
});

test("scale policy - no second scale-up while an asked-for worker has not registered", () => {
  const { decision } = decideScale({ nowMs: 100_000, signals: signals({ ready: 2, waitingPerWorker: 5 }), desired: 3 }, FRESH, OPTIONS);
  assert.equal(decision.action, "hold");
  assert.match(decision.reason, /1 worker\(s\) asked for and not registered yet/);
});

test("scale policy - scale-down needs the whole window idle, restarts the window after a step, and waits for starting or draining workers", () => {
  let memory = FRESH;
  const idle = signals({ ready: 3 });
  const at = (s: number, over: Partial<AutoscaleSignals> = {}) => {
    const out = decideScale({ nowMs: s * 1000, signals: { ...idle, ...over }, desired: 3 }, memory, OPTIONS);
    memory = out.memory;
    return out.decision;
  };
  assert.match(at(0).reason, /idle for 0 s of the 60 s window/);
  assert.equal(at(45).action, "hold");
  // A burst inside the window breaks it: the window starts again.
  assert.equal(at(50, { waitingPerWorker: 1 }).reason, "within the band");
  assert.equal(at(100).action, "hold");
  assert.equal(at(155).action, "hold");
  const down = at(160);
  assert.equal(down.action, "down");
  assert.match(down.reason, /idle for 60 s/);
  assert.equal(at(165).action, "hold", "the window restarts after a step");
  assert.match(at(300, { draining: 1 }).reason, /1 draining/);
});

test("scale policy - TTFT above half the SLO blocks scale-down; without an SLO it is not a signal", () => {
  const memory: ScaleMemory = { lastScaleUpAtMs: undefined, downSinceMs: 0 };
  assert.equal(decideScale({ nowMs: 120_000, signals: signals({ ttftP90Ms: 300 }), desired: 2 }, memory, OPTIONS).decision.reason, "within the band");
  assert.equal(decideScale({ nowMs: 120_000, signals: signals({ ttftP90Ms: 300 }), desired: 2 }, memory, { ...OPTIONS, ttftSloMs: 0 }).decision.action, "down");
});

test("scale policy - a spike replayed interval by interval: one step at a time, no flapping in the band, back to min after the windows", () => {
  // 15 s intervals. Waiting per worker: a spike (6) for 3 minutes, then load in the band (1), then idle.
  const load = (t: number) => (t < 180 ? 6 : t < 360 ? 1 : 0);
  let memory = FRESH;
  let desired = 1;
  const actions: string[] = [];
  for (let t = 0; t <= 900; t += 15) {
    const { decision, memory: next } = decideScale({ nowMs: t * 1000, signals: signals({ ready: desired, waitingPerWorker: load(t) * (2 / desired) }), desired }, memory, OPTIONS);
    memory = next;
    if (decision.action !== "hold") {
      actions.push(`${t}:${decision.action}`);
      desired += decision.action === "up" ? decision.by : -decision.by;
    }
  }
  // Up at 0, then one more after each 60 s warm-up while the spike lasts; nothing in the band; down one per window when idle (each window starts at the interval after the step).
  assert.deepEqual(actions, ["0:up", "60:up", "120:up", "420:down", "495:down", "570:down"]);
  assert.equal(desired, 1);
});
