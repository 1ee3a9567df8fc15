/**
 * The handover contract between a worker and the router (worker.proto,
 * WorkerService.Generate): a worker that drains with migration ends a running
 * request's stream with UNAVAILABLE and this trailer naming the worker that
 * received the request's KV. The router continues the request there by
 * replaying the tokens it already relayed; the prompt is then a cache hit.
 * Without the trailer (the migration failed) the router replays anywhere.
 */
import type { Metadata } from "@grpc/grpc-js";

/** Trailer key: the id of the worker a handed-over request continues on. */
export const HANDOVER_TARGET_METADATA = "sigmaserve-handover-to";

/** The worker a failed Generate stream was handed over to, from its trailers; undefined when it names none. */
export function handoverTargetOf(metadata: Metadata | undefined): string | undefined {
  const value = metadata?.get(HANDOVER_TARGET_METADATA)[0];
  return typeof value === "string" && value !== "" ? value : undefined;
}
