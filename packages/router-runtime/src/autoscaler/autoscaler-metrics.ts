/**
 * The autoscaler's series on the router's registry: whether this router
 * leads, the decisions by action and the signals behind the last one, the
 * provider's desired count, drain durations and failed steps.
 */
import { Counter, Gauge, Histogram, type Registry } from "@sigmaserve/telemetry";
import type { AutoscaleSignals } from "./autoscale-signals.js";
import type { ScaleDecision } from "./scale-policy.js";

export class AutoscalerMetrics {
  readonly leader: Gauge;
  readonly failures: Counter;
  readonly drainSeconds: Histogram;
  private readonly decisions: Counter;
  private readonly desired: Gauge;
  private readonly signals: Gauge;
  private readonly kvUsage: Gauge;

  constructor(
    registry: Registry,
    private readonly provider: string,
  ) {
    const registers = [registry];
    this.leader = new Gauge({ name: "sigmaserve_autoscaler_leader", help: "1 while this router holds the autoscaler lease and decides, else 0.", labelNames: [], registers });
    this.decisions = new Counter({ name: "sigmaserve_autoscaler_decisions_total", help: "Autoscaler decisions by action (up|down|hold), taken by the leader once per interval.", labelNames: ["action", "provider"], registers });
    this.desired = new Gauge({ name: "sigmaserve_autoscaler_desired_workers", help: "Workers the provider runs or is starting, as of the last decision.", registers });
    this.signals = new Gauge({ name: "sigmaserve_autoscaler_signal", help: "The signals of the last decision: waiting_per_worker, running_per_worker, ttft_p90_seconds, admission_rejections, ready_workers, starting_workers, draining_workers.", labelNames: ["signal"], registers });
    this.kvUsage = new Gauge({ name: "sigmaserve_autoscaler_kv_usage_ratio", help: "Mean KV pool usage over the ready workers as of the last decision, per component (k|v) and tier (device|host).", labelNames: ["component", "tier"], registers });
    this.failures = new Counter({ name: "sigmaserve_autoscaler_failures_total", help: "Autoscaler steps that failed, by step (read|up|drain|down).", labelNames: ["step"], registers });
    this.drainSeconds = new Histogram({ name: "sigmaserve_autoscaler_drain_seconds", help: "How long a scale-down's drain with migration took, seconds.", buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300], registers });
  }

  observe(s: AutoscaleSignals, desired: number, decision: ScaleDecision): void {
    this.decisions.inc({ action: decision.action, provider: this.provider });
    this.desired.set(desired);
    this.signals.set({ signal: "waiting_per_worker" }, s.waitingPerWorker);
    this.signals.set({ signal: "running_per_worker" }, s.runningPerWorker);
    this.signals.set({ signal: "ttft_p90_seconds" }, s.ttftP90Ms === null ? 0 : s.ttftP90Ms / 1000);
    this.signals.set({ signal: "admission_rejections" }, s.admissionRejections);
    this.signals.set({ signal: "ready_workers" }, s.ready);
    this.signals.set({ signal: "starting_workers" }, s.starting);
    this.signals.set({ signal: "draining_workers" }, s.draining);
    for (const component of ["k", "v"] as const) for (const tier of ["device", "host"] as const) this.kvUsage.set({ component, tier }, s.kv[component][tier]);
  }
}
