/**
 * Maps what the NATS client throws onto this package's errors. The client
 * wraps causes (a RequestError whose cause is a NoRespondersError), so the
 * whole cause chain is searched.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import { ClosedConnectionError, NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { ControlTimeoutError, CoordClosedError, CoordError, CoordUnavailableError, NoResponderError } from "../errors.js";

/** JetStream's error code for "stream not found". */
const JS_STREAM_NOT_FOUND_CODE = 10059;

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    chain.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return chain;
}

function isNoResponders(e: unknown): boolean {
  return e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders());
}

/** The error of a failed control request on `subject`. */
export function mapRequestError(err: unknown, subject: string, timeoutMs: number): Error {
  const chain = causes(err);
  if (chain.some(isNoResponders)) return new NoResponderError(subject, { cause: err });
  if (chain.some((e) => e instanceof TimeoutError)) return new ControlTimeoutError(subject, timeoutMs, { cause: err });
  return mapConnectionError(err, `${subject}: request failed`);
}

/** The error of any other failed operation: CoordClosedError once closed, else CoordUnavailableError. */
export function mapConnectionError(err: unknown, what: string): Error {
  if (err instanceof CoordError) return err;
  if (causes(err).some((e) => e instanceof ClosedConnectionError)) return new CoordClosedError(`${what}: the connection is closed`, { cause: err });
  const reason = err instanceof Error ? err.message : String(err);
  return new CoordUnavailableError(`${what}: ${reason}`, { cause: err });
}

/** True when a JetStream call failed because the stream behind the bucket does not exist (e.g. a server restarted empty). */
export function isMissingStream(err: unknown): boolean {
  return causes(err).some(
    (e) =>
      isNoResponders(e) ||
      (e instanceof JetStreamApiError && e.code === JS_STREAM_NOT_FOUND_CODE) ||
      (e instanceof Error && /stream not found/i.test(e.message)),
  );
}
