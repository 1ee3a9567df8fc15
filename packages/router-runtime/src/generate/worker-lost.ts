/**
 * Why the router gave up an attempt on a worker that is still connected: its
 * stream stalled (no message for the stall timeout: a hung GPU, a SIGSTOPped
 * process) or the registry dropped the worker (its heartbeats stopped). It is
 * the reason the attempt's own signal aborts with; the dispatcher then fails
 * the request over like any worker failure. A client never sees it, except
 * as the cause of a stream given up after the last replay.
 */
export class WorkerLostError extends Error {
  override readonly name = "WorkerLostError";

  constructor(
    readonly workerId: string,
    readonly reason: "stalled" | "removed",
    message: string,
  ) {
    super(message);
  }
}
