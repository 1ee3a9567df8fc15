/**
 * round_robin: the n-th call picks the (n mod k)-th candidate in worker-id
 * order. The counter is the only state; when the candidate set changes the
 * cycle continues over the new set. Cost = turns until that worker's go
 * (0 = picked now), so the breakdown shows the rotation.
 */
import { checkedCandidates } from "./validate-request.js";
import type { SelectionRequest, WorkerSelection, WorkerSelector } from "./worker-selector.js";

export class RoundRobinSelector implements WorkerSelector {
  readonly policy = "round_robin" as const;
  #calls = 0;

  select(request: SelectionRequest): WorkerSelection | null {
    const candidates = checkedCandidates(request);
    if (candidates.length === 0) return null;
    const pick = this.#calls % candidates.length;
    this.#calls++;
    const costs = candidates.map((load, i) => ({
      workerId: load.workerId,
      cost: (i - pick + candidates.length) % candidates.length,
      eligible: true,
      probability: i === pick ? 1 : 0,
    }));
    return { workerId: candidates[pick]!.workerId, policy: this.policy, costs };
  }
}
