/**
 * A process's metrics registry, with prom-client's default process series
 * (process_resident_memory_bytes, process_cpu_seconds_total,
 * nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds, GC durations,
 * open file descriptors ...), which operators and the soak read to follow a
 * process's memory and CPU over time, as every Node service that exports
 * Prometheus metrics does.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
