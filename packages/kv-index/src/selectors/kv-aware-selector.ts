/**
 * kv_aware, the default policy: Dynamo's cost with a DiffQKV discount and an
 * anti-death-spiral window. For each candidate w, with B = requestTokens /
 * blockSizeTokens (fractional, as Dynamo) and w's overlap from the index:
 *
 *   matched_w  = min(overlap.matchedBlocks, B);  host_w = min(overlap.hostBlocks − sv_w, matched_w)
 *   prefill_w  = B − matched_w                                  (blocks to compute)
 *   decode_w   = activeBlocks_w + waitingBlocks_w                (blocks the worker already serves)
 *   pressure_w = B · excess(max(kPressure_w, vPressure_w))       (room the request needs, see kv-pressure.ts)
 *   cost_w     = overlapWeight · (prefill_w + hostHitCostRatio · host_w) + decode_w + pressureWeight · pressure_w
 *
 * A host hit (K or V on the host) costs a promotion, a copy, instead of a
 * prefill: `hostHitCostRatio` of a prefill block (default 0.1). On a
 * selective-V worker a block with K on the device and V on the host is in its
 * normal state and needs no promotion: sv_w = overlap.kDeviceVHostBlocks there
 * (0 elsewhere), so those blocks count as device hits.
 *
 * Pressure: K and V fill separately, and a request needs room in both, so the
 * fuller one binds. excess(p) = max(0, p − pressureKnee) / (1 − pressureKnee):
 * below the knee (default 0.75 of the pinned blocks) a pool has room and
 * costs nothing; past it the cost rises to B blocks (the whole request, as if
 * it had to be prefilled again after an eviction or a preemption) when full.
 *
 * Window (no death spiral, SGLang's lesson): only workers whose load is near
 * the least loaded one compete, so a hot worker holding a popular prefix
 * cannot attract everything:
 *   eligible_w ⇔ decode_w ≤ minLoad + max(loadSlackBlocks, loadSlackRatio · minLoad),  minLoad = min_w decode_w
 * The least loaded worker is always eligible. Among the eligible, temperature
 * 0 takes the lowest cost (ties: smallest worker id); above 0 it samples a
 * softmax over the costs (see softmax-sample.ts) with the injected random.
 * NOTE: a term equal for every worker (the request's own new blocks) would
 * not change the choice, so it is left out of decode_w.
 */
import { WorkerSelectorConfigError } from "../errors.js";
import type { WorkerOverlap } from "../kv-index-types.js";
import { kvPressure, pressureExcess } from "./kv-pressure.js";
import { softmaxPick } from "./softmax-sample.js";
import { CandidateOrder, checkedCandidates } from "./validate-request.js";
import type { SelectionRequest, WorkerCost, WorkerSelection, WorkerSelector } from "./worker-selector.js";

/** Weight of prefill blocks against decode blocks (Dynamo's overlap_score_weight). */
export const DEFAULT_OVERLAP_WEIGHT = 1;
/** Cost of a host-resident matched block, as a fraction of a prefill block. */
export const DEFAULT_HOST_HIT_COST_RATIO = 0.1;
/** Load (blocks) above the minimum that still competes, at any load. */
export const DEFAULT_LOAD_SLACK_BLOCKS = 64;
/** Load above the minimum that still competes, as a fraction of the minimum (wins over the blocks when larger). */
export const DEFAULT_LOAD_SLACK_RATIO = 0.25;
/** Weight of the pressure term, in request blocks at a full pool. */
export const DEFAULT_PRESSURE_WEIGHT = 1;
/** Usage (pinned blocks / blocks) below which a pool's pressure costs nothing. */
export const DEFAULT_PRESSURE_KNEE = 0.75;
/** 0 = deterministic argmin. */
export const DEFAULT_ROUTER_TEMPERATURE = 0;

export interface KvAwareSelectorOptions {
  /** ≥ 0; default `DEFAULT_OVERLAP_WEIGHT`. Higher favours TTFT (cache hits), lower favours ITL (load). */
  overlapWeight?: number;
  /** 0…1; default `DEFAULT_HOST_HIT_COST_RATIO`. */
  hostHitCostRatio?: number;
  /** ≥ 0; default `DEFAULT_LOAD_SLACK_BLOCKS`. */
  loadSlackBlocks?: number;
  /** ≥ 0; default `DEFAULT_LOAD_SLACK_RATIO`. */
  loadSlackRatio?: number;
  /** ≥ 0; default `DEFAULT_PRESSURE_WEIGHT`. 0 ignores K and V pressure. */
  pressureWeight?: number;
  /** 0…1; default `DEFAULT_PRESSURE_KNEE`. */
  pressureKnee?: number;
  /** ≥ 0; default `DEFAULT_ROUTER_TEMPERATURE`. */
  temperature?: number;
  /** Uniform in [0, 1); used only when temperature > 0. Default Math.random; inject a seeded one in tests. */
  random?: () => number;
}

/** One candidate's line: every term of the cost. */
export interface KvAwareWorkerCost extends WorkerCost {
  matchedBlocks: number;
  deviceHitBlocks: number;
  hostHitBlocks: number;
  prefillBlocks: number;
  /** prefill_w + hostHitCostRatio · host_w, before the weight. */
  prefillCost: number;
  decodeBlocks: number;
  /** K pressure, 0…1 (see kv-pressure.ts). */
  kPressure: number;
  /** V pressure, 0…1: on a selective-V worker it includes V's host tier. */
  vPressure: number;
  /** B · excess(max(kPressure, vPressure)), before the weight. */
  pressureCost: number;
}

const NO_OVERLAP: WorkerOverlap = { matchedBlocks: 0, deviceBlocks: 0, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 0 };

function option(field: string, value: number | undefined, fallback: number, max = Number.POSITIVE_INFINITY): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== "number" || Number.isNaN(resolved) || resolved < 0 || resolved > max || resolved === Number.POSITIVE_INFINITY) {
    throw new WorkerSelectorConfigError(field, `must be a finite number in [0, ${max}], got ${String(resolved)}`);
  }
  return resolved;
}

export class KvAwareSelector implements WorkerSelector {
  readonly policy = "kv_aware" as const;
  readonly overlapWeight: number;
  readonly hostHitCostRatio: number;
  readonly loadSlackBlocks: number;
  readonly loadSlackRatio: number;
  readonly pressureWeight: number;
  readonly pressureKnee: number;
  readonly temperature: number;
  readonly #random: () => number;
  /** The last candidate list's id order, reused while the router passes the same workers. */
  readonly #order = new CandidateOrder();

  constructor(options: KvAwareSelectorOptions = {}) {
    this.overlapWeight = option("overlapWeight", options.overlapWeight, DEFAULT_OVERLAP_WEIGHT);
    this.hostHitCostRatio = option("hostHitCostRatio", options.hostHitCostRatio, DEFAULT_HOST_HIT_COST_RATIO, 1);
    this.loadSlackBlocks = option("loadSlackBlocks", options.loadSlackBlocks, DEFAULT_LOAD_SLACK_BLOCKS);
    this.loadSlackRatio = option("loadSlackRatio", options.loadSlackRatio, DEFAULT_LOAD_SLACK_RATIO);
    this.pressureWeight = option("pressureWeight", options.pressureWeight, DEFAULT_PRESSURE_WEIGHT);
    this.pressureKnee = option("pressureKnee", options.pressureKnee, DEFAULT_PRESSURE_KNEE, 1);
    this.temperature = option("temperature", options.temperature, DEFAULT_ROUTER_TEMPERATURE);
    if (options.random !== undefined && typeof options.random !== "function") throw new WorkerSelectorConfigError("random", "must be a function");
    this.#random = options.random ?? Math.random;
  }

  select(request: SelectionRequest): WorkerSelection<KvAwareWorkerCost> | null {
    const candidates = checkedCandidates(request, this.#order);
    if (candidates.length === 0) return null;
    const requestBlocks = request.requestTokens / request.blockSizeTokens;
    const costs: KvAwareWorkerCost[] = candidates.map((load) => {
      const overlap = request.overlap?.get(load.workerId) ?? NO_OVERLAP;
      const matchedBlocks = Math.min(overlap.matchedBlocks, requestBlocks);
      const readyOnHost = load.selectiveV ? overlap.kDeviceVHostBlocks : 0;
      const hostHitBlocks = Math.min(overlap.hostBlocks - readyOnHost, matchedBlocks);
      const prefillBlocks = requestBlocks - matchedBlocks;
      const prefillCost = prefillBlocks + this.hostHitCostRatio * hostHitBlocks;
      const decodeBlocks = load.activeBlocks + (load.waitingBlocks ?? 0);
      const pressure = kvPressure(load);
      const pressureCost = requestBlocks * pressureExcess(pressure.binding, this.pressureKnee);
      return {
        workerId: load.workerId,
        cost: this.overlapWeight * prefillCost + decodeBlocks + this.pressureWeight * pressureCost,
        eligible: false,
        probability: 0,
        matchedBlocks,
        deviceHitBlocks: matchedBlocks - hostHitBlocks,
        hostHitBlocks,
        prefillBlocks,
        prefillCost,
        decodeBlocks,
        kPressure: pressure.k,
        vPressure: pressure.v,
        pressureCost,
      };
    });
    let minLoad = Number.POSITIVE_INFINITY;
    for (const line of costs) minLoad = Math.min(minLoad, line.decodeBlocks);
    const maxLoad = minLoad + Math.max(this.loadSlackBlocks, this.loadSlackRatio * minLoad);
    const eligible = costs.filter((line) => line.decodeBlocks <= maxLoad);
    for (const line of eligible) line.eligible = true;
    const pick = softmaxPick(
      eligible.map((line) => line.cost),
      this.temperature,
      this.#random,
    );
    eligible.forEach((line, i) => (line.probability = pick.probabilities[i]!));
    return { workerId: eligible[pick.index]!.workerId, policy: this.policy, costs };
  }
}
