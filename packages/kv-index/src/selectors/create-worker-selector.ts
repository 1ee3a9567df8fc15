/**
 * One door from a configured policy name to a selector. The options apply to
 * kv_aware only; the other policies take none.
 */
import { WorkerSelectorConfigError } from "../errors.js";
import { KvAwareSelector, type KvAwareSelectorOptions } from "./kv-aware-selector.js";
import { LeastLoadedSelector } from "./least-loaded-selector.js";
import { RoundRobinSelector } from "./round-robin-selector.js";
import { DEFAULT_ROUTING_POLICY, ROUTING_POLICIES, type RoutingPolicy, type WorkerSelector } from "./worker-selector.js";

export function createWorkerSelector(policy: RoutingPolicy = DEFAULT_ROUTING_POLICY, options: KvAwareSelectorOptions = {}): WorkerSelector {
  switch (policy) {
    case "round_robin":
      return new RoundRobinSelector();
    case "least_loaded":
      return new LeastLoadedSelector();
    case "kv_aware":
      return new KvAwareSelector(options);
    default:
      throw new WorkerSelectorConfigError("policy", `must be one of ${ROUTING_POLICIES.join(", ")}, got ${String(policy)}`);
  }
}
