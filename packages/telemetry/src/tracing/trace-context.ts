/**
 * W3C trace context (`traceparent`, `tracestate`) across process hops: into
 * and out of gRPC metadata (router → worker) and NATS message headers
 * (migration control). Carriers are plain: anything with get/set of string
 * values, so this package imports neither grpc-js nor nats. With tracing off
 * nothing is injected and extraction yields the root context.
 */
import { context, propagation, type Context, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";

/** A header carrier: grpc-js Metadata and a plain record both fit through the adapters below. */
export interface HeaderCarrier {
  get(key: string): unknown[] | string | undefined;
  set(key: string, value: string): void;
}

const getter: TextMapGetter<HeaderCarrier> = {
  keys: () => ["traceparent", "tracestate"],
  get: (carrier, key) => {
    const value = carrier.get(key);
    if (value === undefined) return undefined;
    if (typeof value === "string") return value;
    const first = value[0];
    return first === undefined ? undefined : typeof first === "string" ? first : Buffer.isBuffer(first) ? first.toString("latin1") : String(first);
  },
};

const setter: TextMapSetter<HeaderCarrier> = { set: (carrier, key, value) => carrier.set(key, value) };

/** Writes the trace context of `ctx` (default: the active one) into `carrier`. */
export function injectTraceContext(carrier: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier, setter);
}

/**
 * The context `carrier` carries (a remote parent), on top of `base` (default: the active context); the
 * carrier is grpc-js Metadata or a plain record of headers (coord's ControlContext.headers).
 */
export function extractTraceContext(carrier: HeaderCarrier | Readonly<Record<string, string>>, base: Context = context.active()): Context {
  if (typeof carrier.get === "function") return propagation.extract(base, carrier as HeaderCarrier, getter);
  return propagation.extract(base, carrier);
}

/** The trace context of `ctx` as a plain record of headers (empty when tracing is off). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}
