/**
 * startHeartbeats(): the worker's heartbeat timer. Calls
 * `registration.heartbeat(currentLoad())` every `intervalMs`, one at a time (the
 * next waits for the previous to settle, so a slow JetStream never stacks
 * heartbeats). A failed heartbeat (an outage) goes to `onError` and the loop
 * carries on: the first one after the outage re-creates the entry.
 */
import type { coordv1 } from "@sigmaserve/proto";
import type { WorkerRegistration } from "./coord-bus.js";
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from "./defaults.js";
import { CoordArgumentError, CoordClosedError } from "./errors.js";

export interface HeartbeatLoopOptions {
  /** Default: DEFAULT_HEARTBEAT_INTERVAL_MS. Keep it well under the registry TTL (a quarter or less). */
  intervalMs?: number;
  /** Each failed heartbeat. Default: ignored. */
  onError?: (err: unknown) => void;
}

export interface HeartbeatLoop {
  /** Stops the timer and waits for a heartbeat in flight. Idempotent. */
  stop(): Promise<void>;
}

export function startHeartbeats(
  registration: WorkerRegistration,
  currentLoad: () => coordv1.WorkerLoad,
  options: HeartbeatLoopOptions = {},
): HeartbeatLoop {
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  if (!(intervalMs > 0)) throw new CoordArgumentError("intervalMs", `must be > 0, got ${intervalMs}`);
  const onError = options.onError ?? (() => {});
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const beat = async () => {
    try {
      await registration.heartbeat(currentLoad());
    } catch (err) {
      // After deregister() there is nothing left to keep alive.
      if (err instanceof CoordClosedError) stopped = true;
      onError(err);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = beat().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
