/**
 * Samples the resident memory of every live process of the fleet every
 * `everyMs` (VmRSS and RssAnon from /proc; see bench/lib/process-memory.ts),
 * and says how much each grew: the mean of the last window against the mean
 * of the first (windows in performance.now() ms, chosen by the caller after
 * the warm-up). Only a process alive across both windows has a growth; one
 * that was started or retired in between (a replaced worker) reports its
 * peak only.
 *
 * NOTE: the V8 heap itself is not sampled: the router's and the workers'
 * /metrics do not register prom-client's default metrics
 * (nodejs_heap_size_used_bytes, process_resident_memory_bytes), and the soak
 * does not attach an inspector to every process. RssAnon (anonymous resident
 * pages: the V8 heap plus native allocations) is the closest figure /proc has.
 */
import { processMemory } from "../lib/process-memory.js";
import type { Fleet } from "./fleet.js";

export interface MemorySample {
  id: string;
  atMs: number;
  rssBytes: number;
  rssAnonBytes: number;
}

export interface Window {
  startMs: number;
  endMs: number;
}

export interface MemoryGrowth {
  id: string;
  role: string;
  samples: number;
  peakRssMib: number;
  /** Means over the windows, MiB; null when the process did not live through both. */
  firstRssMib: number | null;
  lastRssMib: number | null;
  rssGrowth: number | null;
  firstAnonMib: number | null;
  lastAnonMib: number | null;
  anonGrowth: number | null;
}

const MIB = 2 ** 20;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly fleet: Fleet) {}

  start(everyMs: number): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  sample(): void {
    const atMs = performance.now();
    for (const proc of this.fleet.processes) {
      if (proc.endedAtMs !== undefined) continue;
      const memory = processMemory(proc.pid);
      if (Number.isFinite(memory.rssBytes)) this.samples.push({ id: proc.id, atMs, ...memory });
    }
  }

  growth(first: Window, last: Window): MemoryGrowth[] {
    return this.fleet.processes.map((proc) => {
      const own = this.samples.filter((s) => s.id === proc.id);
      const lived = proc.startedAtMs <= first.startMs && (proc.endedAtMs === undefined || proc.endedAtMs >= last.endMs);
      const inWindow = (w: Window) => own.filter((s) => s.atMs >= w.startMs && s.atMs <= w.endMs);
      const a = inWindow(first);
      const b = inWindow(last);
      const measured = lived && a.length > 0 && b.length > 0;
      const rss = (ss: MemorySample[]) => mean(ss.map((s) => s.rssBytes)) / MIB;
      const anon = (ss: MemorySample[]) => mean(ss.map((s) => s.rssAnonBytes)) / MIB;
      return {
        id: proc.id,
        role: proc.role,
        samples: own.length,
        peakRssMib: round(Math.max(0, ...own.map((s) => s.rssBytes)) / MIB),
        firstRssMib: measured ? round(rss(a)) : null,
        lastRssMib: measured ? round(rss(b)) : null,
        rssGrowth: measured ? round(rss(b) / rss(a) - 1, 4) : null,
        firstAnonMib: measured ? round(anon(a)) : null,
        lastAnonMib: measured ? round(anon(b)) : null,
        anonGrowth: measured ? round(anon(b) / anon(a) - 1, 4) : null,
      };
    });
  }
}
