/**
 * The autoscaler's decision, as a pure function of the signals, the worker
 * counts and what it did last, so every rule is tested without a cluster.
 * The rules are the anchors' anti-flapping lessons (Dynamo's planner, KEDA,
 * the HPA's stabilization window):
 * - hysteresis: separate up and down thresholds, with a dead band between;
 * - at most one step (±maxStep workers) per interval;
 * - after a scale-up, hold while the new worker warms up (no step either way:
 *   its cache is cold and its load not yet reported);
 * - scale down only after the down condition held for the whole
 *   stabilization window, and never while a worker is starting or draining;
 * - min and max replicas, which win over everything (outside them, step
 *   toward them).
 */
import type { AutoscaleSignals } from "./autoscale-signals.js";

export interface ScalePolicyOptions {
  minWorkers: number;
  maxWorkers: number;
  /** Scale up when waiting requests per ready worker reach this. */
  upWaitingPerWorker: number;
  /** ...and allow scale-down only at or below this. */
  downWaitingPerWorker: number;
  /** Scale up when the fullest K or V pool (mean over workers) reaches this, 0..1. */
  upKvUsage: number;
  downKvUsage: number;
  /** TTFT SLO, ms (p90 over the interval); 0 = not a signal. Scale-down needs TTFT at or below half of it. */
  ttftSloMs: number;
  /** Hold after a scale-up, ms. */
  warmupMs: number;
  /** How long the down condition must hold before a scale-down, ms. */
  downWindowMs: number;
  /** Workers added or removed per decision. */
  maxStep: number;
}

export const DEFAULT_SCALE_POLICY: Omit<ScalePolicyOptions, "minWorkers" | "maxWorkers"> = {
  upWaitingPerWorker: 2,
  downWaitingPerWorker: 0.2,
  upKvUsage: 0.85,
  downKvUsage: 0.5,
  ttftSloMs: 0,
  warmupMs: 60_000,
  downWindowMs: 60_000,
  maxStep: 1,
};

/** What the autoscaler remembers between decisions. */
export interface ScaleMemory {
  /** When it last scaled up (ms since the epoch); undefined: never. */
  lastScaleUpAtMs: number | undefined;
  /** Since when the down condition has held without a break; undefined: it does not hold now. */
  downSinceMs: number | undefined;
}

export type ScaleDecision =
  | { action: "up"; by: number; reason: string }
  | { action: "down"; by: number; reason: string }
  | { action: "hold"; reason: string };

export interface ScaleInput {
  nowMs: number;
  signals: AutoscaleSignals;
  /** The provider's desired count (workers running or starting under it). */
  desired: number;
}

/** Decides one interval's step and returns the memory for the next one. */
export function decideScale(input: ScaleInput, memory: ScaleMemory, options: ScalePolicyOptions): { decision: ScaleDecision; memory: ScaleMemory } {
  const { nowMs, signals: s, desired } = input;
  const up = upReasons(s, options);
  const downHolds = up.length === 0 && downConditionHolds(s, options);
  const next: ScaleMemory = { lastScaleUpAtMs: memory.lastScaleUpAtMs, downSinceMs: downHolds ? (memory.downSinceMs ?? nowMs) : undefined };
  const step = (n: number) => Math.max(1, Math.min(options.maxStep, n));

  if (desired < options.minWorkers) {
    return { decision: { action: "up", by: step(options.minWorkers - desired), reason: `below min (${desired} < ${options.minWorkers})` }, memory: { ...next, lastScaleUpAtMs: nowMs } };
  }
  if (desired > options.maxWorkers) return { decision: { action: "down", by: step(desired - options.maxWorkers), reason: `above max (${desired} > ${options.maxWorkers})` }, memory: next };

  const warmingUntil = memory.lastScaleUpAtMs === undefined ? undefined : memory.lastScaleUpAtMs + options.warmupMs;
  if (warmingUntil !== undefined && nowMs < warmingUntil) {
    return { decision: { action: "hold", reason: `warming up a new worker for ${Math.ceil((warmingUntil - nowMs) / 1000)} s more` }, memory: next };
  }
  if (up.length > 0) {
    const unregistered = desired - (s.ready + s.starting + s.draining);
    if (unregistered > 0) return { decision: { action: "hold", reason: `${unregistered} worker(s) asked for and not registered yet, while ${up.join(", ")}` }, memory: next };
    if (desired >= options.maxWorkers) return { decision: { action: "hold", reason: `at max (${options.maxWorkers}) while ${up.join(", ")}` }, memory: next };
    return { decision: { action: "up", by: step(options.maxWorkers - desired), reason: up.join(", ") }, memory: { ...next, lastScaleUpAtMs: nowMs } };
  }
  if (!downHolds) return { decision: { action: "hold", reason: "within the band" }, memory: next };
  if (desired <= options.minWorkers) return { decision: { action: "hold", reason: `idle at min (${options.minWorkers})` }, memory: next };
  if (s.starting > 0 || s.draining > 0) return { decision: { action: "hold", reason: `idle, but ${s.starting} starting and ${s.draining} draining` }, memory: next };
  const heldMs = nowMs - next.downSinceMs!;
  if (heldMs < options.downWindowMs) {
    return { decision: { action: "hold", reason: `idle for ${Math.floor(heldMs / 1000)} s of the ${Math.round(options.downWindowMs / 1000)} s window` }, memory: next };
  }
  // A scale-down restarts the window: the next one needs another full window of idleness.
  return {
    decision: { action: "down", by: step(desired - options.minWorkers), reason: `idle for ${Math.round(heldMs / 1000)} s (waiting ${s.waitingPerWorker.toFixed(2)}/worker, peak pool ${s.kvPeakPool} ${s.kvPeak.toFixed(2)})` },
    memory: { ...next, downSinceMs: undefined },
  };
}

function upReasons(s: AutoscaleSignals, o: ScalePolicyOptions): string[] {
  const reasons: string[] = [];
  if (s.ready > 0 && s.waitingPerWorker >= o.upWaitingPerWorker) reasons.push(`waiting ${s.waitingPerWorker.toFixed(2)}/worker >= ${o.upWaitingPerWorker}`);
  if (s.kvPeak >= o.upKvUsage) reasons.push(`${s.kvPeakPool} usage ${s.kvPeak.toFixed(2)} >= ${o.upKvUsage}`);
  if (o.ttftSloMs > 0 && s.ttftP90Ms !== null && s.ttftP90Ms > o.ttftSloMs) reasons.push(`TTFT p90 ${Math.round(s.ttftP90Ms)} ms > SLO ${o.ttftSloMs} ms`);
  if (s.admissionRejections > 0) reasons.push(`${s.admissionRejections} admission rejections`);
  return reasons;
}

function downConditionHolds(s: AutoscaleSignals, o: ScalePolicyOptions): boolean {
  if (s.waitingPerWorker > o.downWaitingPerWorker || s.kvPeak > o.downKvUsage) return false;
  if (o.ttftSloMs > 0 && s.ttftP90Ms !== null && s.ttftP90Ms > o.ttftSloMs / 2) return false;
  return s.admissionRejections === 0;
}
