/**
 * least_loaded: the fewest requests (running + waiting), then the lowest
 * binding KV pressure (the fuller of K and V, see kv-pressure.ts), then the
 * smallest worker id. Ignores the cache entirely; the
 * baseline kv_aware is measured against.
 */
import { kvPressure } from "./kv-pressure.js";
import { checkedCandidates, compareIds } from "./validate-request.js";
import type { SelectionRequest, WorkerLoad, WorkerSelection, WorkerSelector } from "./worker-selector.js";

function requests(load: WorkerLoad): number {
  return load.runningRequests + load.waitingRequests;
}

export class LeastLoadedSelector implements WorkerSelector {
  readonly policy = "least_loaded" as const;

  select(request: SelectionRequest): WorkerSelection | null {
    const candidates = checkedCandidates(request);
    let best: WorkerLoad | undefined;
    let bestPressure = 0;
    for (const load of candidates) {
      const pressure = kvPressure(load).binding;
      if (
        best === undefined ||
        requests(load) < requests(best) ||
        (requests(load) === requests(best) && (pressure < bestPressure || (pressure === bestPressure && compareIds(load.workerId, best.workerId) < 0)))
      ) {
        best = load;
        bestPressure = pressure;
      }
    }
    if (best === undefined) return null;
    const costs = candidates.map((load) => ({
      workerId: load.workerId,
      cost: requests(load),
      eligible: true,
      probability: load === best ? 1 : 0,
    }));
    return { workerId: best.workerId, policy: this.policy, costs };
  }
}
