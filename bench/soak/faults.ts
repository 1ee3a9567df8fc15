/**
 * The soak's faults, one every `periodMs`, alternately:
 *
 * - kill: SIGKILL a worker (a crash: its streams break mid-way and the router
 *   must fail them over), then start a replacement;
 * - drain: `sigmaserve drain ADDR --migrate --wait-s N` (the CLI, which calls
 *   the worker's Drain RPC and polls GetLoad until DRAINED), then SIGTERM it
 *   and start a replacement.
 *
 * The victim is the oldest worker other than the anchor (the first one, kept
 * for the whole run so that one worker's memory is measured end to end).
 * Each fault is recorded with the span during which requests may have felt
 * it: from its start until its replacement has joined, plus a grace for the
 * router to notice (a request overlapping it is "across a fault").
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { EXIT_GRACE_MS, type Fleet, type FleetWorker } from "./fleet.js";

const CLI = join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/cli/package.json")), "dist", "main.js");
/** How long a drain may take before the fault counts as failed, s. */
export const DRAIN_WAIT_S = 60;
/** After a replacement joined, how long requests may still feel the fault (the router's view of the registry catches up), ms. */
export const FAULT_GRACE_MS = 3_000;

export interface FaultRecord {
  kind: "kill" | "drain";
  workerId: string;
  replacementId?: string;
  /** performance.now() ms. */
  startMs: number;
  endMs: number;
  /** The CLI's output (drain), or why the fault failed. */
  detail: string;
  ok: boolean;
}

export class Faults {
  readonly records: FaultRecord[] = [];
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly fleet: Fleet,
    private readonly anchorId: string,
  ) {}

  /** The first fault after periodMs / 2, then one every periodMs; none starts after `lastStartMs` (performance.now()). */
  start(periodMs: number, lastStartMs: number): void {
    this.#loop = (async () => {
      let next = performance.now() + periodMs / 2;
      let kill = true;
      while (!this.#stopping && next <= lastStartMs) {
        await this.#sleepUntil(next);
        if (this.#stopping) break;
        await this.#inject(kill ? "kill" : "drain");
        kill = !kill;
        next += periodMs;
      }
    })();
  }

  /** Starts no further fault and waits for the one under way. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
  }

  async #sleepUntil(atMs: number): Promise<void> {
    const controller = new AbortController();
    this.#wake = () => controller.abort();
    await sleep(Math.max(0, atMs - performance.now()), undefined, { signal: controller.signal }).catch(() => {});
    this.#wake = undefined;
  }

  async #inject(kind: FaultRecord["kind"]): Promise<void> {
    const victim = this.fleet.workers.find((w) => w.id !== this.anchorId);
    if (victim === undefined) return;
    const record: FaultRecord = { kind, workerId: victim.id, startMs: performance.now(), endMs: 0, detail: "", ok: true };
    try {
      if (kind === "kill") await this.fleet.retire(victim, "SIGKILL");
      else await this.#drain(victim, record);
      const replacement = await this.fleet.startWorker();
      record.replacementId = replacement.id;
    } catch (err) {
      record.ok = false;
      record.detail += `${(err as Error).message}`;
    }
    record.endMs = performance.now() + FAULT_GRACE_MS;
    this.records.push(record);
    process.stderr.write(`soak: ${kind} ${victim.id} → ${record.replacementId ?? "no replacement"} in ${((record.endMs - FAULT_GRACE_MS - record.startMs) / 1000).toFixed(1)} s${record.ok ? "" : ` FAILED: ${record.detail}`}\n`);
  }

  async #drain(victim: FleetWorker, record: FaultRecord): Promise<void> {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, "drain", victim.address, "--migrate", "--wait-s", String(DRAIN_WAIT_S)], { timeout: (DRAIN_WAIT_S + 10) * 1000 });
      record.detail = stdout.trim();
    } finally {
      // Drained or not, the worker goes: a drained worker exits on SIGTERM at once.
      if (!(await this.fleet.retire(victim, "SIGTERM"))) {
        record.ok = false;
        record.detail += `\nstill running ${EXIT_GRACE_MS} ms after SIGTERM; SIGKILLed`;
      }
    }
  }
}
