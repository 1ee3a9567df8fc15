/**
 * An OTLP/HTTP trace receiver for tests: it listens on a free loopback port,
 * takes what OpenTelemetry's OTLP/HTTP JSON exporter posts to /v1/traces,
 * and keeps every span flattened with its service name and its attributes
 * as plain values. (The OTLP JSON encoding: ids are hex strings, attribute
 * values are {stringValue|intValue|doubleValue|boolValue|arrayValue}.)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status: { code?: number; message?: string };
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}

function plain(value: AnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}

const attributesOf = (list: { key: string; value: AnyValue }[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));

export interface OtlpReceiver {
  /** The base URL exporters are given (http://127.0.0.1:PORT); spans arrive at /v1/traces. */
  url: string;
  spans: ReceivedSpan[];
  /** Polls until `accept` holds for the spans received so far. */
  waitFor(accept: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url !== "/v1/traces" || req.method !== "POST" || !(req.headers["content-type"] ?? "").startsWith("application/json")) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans?: { resource?: { attributes?: { key: string; value: AnyValue }[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
      };
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)["service.name"] ?? "");
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const s of scope.spans ?? []) {
            spans.push({
              service,
              traceId: String(s["traceId"]),
              spanId: String(s["spanId"]),
              parentSpanId: String(s["parentSpanId"] ?? ""),
              name: String(s["name"]),
              kind: Number(s["kind"]),
              startNs: BigInt(String(s["startTimeUnixNano"])),
              endNs: BigInt(String(s["endTimeUnixNano"])),
              attributes: attributesOf(s["attributes"] as { key: string; value: AnyValue }[]),
              events: ((s["events"] as { name: string; attributes?: { key: string; value: AnyValue }[] }[]) ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
              status: (s["status"] as { code?: number; message?: string }) ?? {},
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    waitFor: async (accept, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!accept(spans)) {
        if (Date.now() > deadline) throw new Error(`spans never met the condition in ${timeoutMs} ms; received ${spans.map((s) => `${s.service}:${s.name}`).join(", ")}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return spans;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
