/**
 * The soak's mixed traffic: `clients` closed-loop clients, each sending its
 * next request when the previous one ends, until told to stop. Each request
 * is drawn (seeded) from four kinds, streamed or unary over gRPC (the SDK)
 * or HTTP (OpenAI /v1/completions with token ids), as one of 2-3 tenants
 * (their API keys), with a prompt that is one of a few shared long prefixes
 * plus a fresh question; a share of the streamed ones is cancelled by the
 * client after its first chunk. Every request ends as exactly one record.
 *
 * Outcomes: ok; cancelled (by this client, on purpose); refused (the router
 * at capacity: RESOURCE_EXHAUSTED or HTTP 429); error (anything else, with
 * its message). Whether an error or an ok request overlapped a fault is the
 * report's business (main.ts), not this module's.
 */
import { CancelledError, RateLimitedError, createClient, type SigmaserveClient } from "@sigmaserve/client";
import { mulberry32 } from "../lib/mulberry32.js";

export const MODEL = "sigma-tiny";
/** Largest token id of a prompt: sigma-tiny's byte vocabulary. */
const MAX_BYTE_TOKEN = 255;

export type RequestKind = "grpc-stream" | "grpc-unary" | "http-stream" | "http-unary";
export const REQUEST_KINDS: readonly RequestKind[] = ["grpc-stream", "grpc-unary", "http-stream", "http-unary"];

export interface SoakRecord {
  kind: RequestKind;
  tenant: string;
  prefix: number;
  /** performance.now() at the send and at the end, ms. */
  startMs: number;
  endMs: number;
  /** Client-side time to the first token (streamed kinds), ms from startMs. */
  ttftMs?: number;
  outcome: "ok" | "cancelled" | "refused" | "error";
  /** The client cancelled it on purpose (an abort after its first chunk). */
  cancelPlanned: boolean;
  error?: string;
  /** The router's request id, when the answer named it (to find the request in the router's log). */
  requestId?: string;
  completionTokens: number;
  cachedPromptTokens: number;
}

export interface Tenant {
  name: string;
  apiKey: string;
}

export interface TrafficOptions {
  grpcAddress: string;
  httpAddress: string;
  tenants: readonly Tenant[];
  clients: number;
  prefixes: number;
  prefixTokens: number;
  questionTokens: number;
  maxTokens: number;
  cancelShare: number;
  timeoutMs: number;
  seed: number;
}

const randomTokens = (random: () => number, length: number) => Array.from({ length }, () => Math.floor(random() * (MAX_BYTE_TOKEN + 1)));

/** A request failed because the server refused load rather than broke. */
const refusedHttp = (status: number) => status === 429;

/** What a request in flight has got so far: to tell, if the soak cannot stop, which request hangs and where. */
export interface InFlightRequest {
  kind: RequestKind;
  tenant: string;
  startMs: number;
  /** "sent", "headers" (HTTP), "streaming", "finished" (finish seen, waiting for the end). */
  stage: string;
  events: number;
  lastEventMs: number;
  requestId?: string;
}

interface Planned {
  kind: RequestKind;
  tenant: Tenant;
  prefix: number;
  prompt: number[];
  cancel: boolean;
}

export class Traffic {
  readonly records: SoakRecord[] = [];
  #stopping = false;
  readonly #inFlight = new Map<number, InFlightRequest>();
  #nextId = 0;
  readonly #sdk = new Map<string, SigmaserveClient>();
  readonly #prefixes: number[][];
  #loops: Promise<void>[] = [];

  constructor(private readonly options: TrafficOptions) {
    const random = mulberry32(options.seed);
    this.#prefixes = Array.from({ length: options.prefixes }, () => randomTokens(random, options.prefixTokens));
    // NOTE: no SDK retries: a failure counts as it happened (the router's own failover is under test).
    for (const tenant of options.tenants) this.#sdk.set(tenant.name, createClient({ address: options.grpcAddress, apiKey: tenant.apiKey, retry: { maxAttempts: 1 } }));
  }

  /** Starts the clients; each runs until `stop()`. */
  start(): void {
    this.#loops = Array.from({ length: this.options.clients }, (_, client) => this.#loop(mulberry32(this.options.seed * 1_000 + client + 1)));
  }

  /** Requests that have started but not ended, with how far each got. */
  inFlight(): InFlightRequest[] {
    return [...this.#inFlight.values()];
  }

  /** No client starts another request from now on. */
  requestStop(): void {
    this.#stopping = true;
  }

  /** No client starts another request; resolves when every request has ended. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#loops);
    for (const client of this.#sdk.values()) client.close();
  }

  async #loop(random: () => number): Promise<void> {
    while (!this.#stopping) {
      const kind = REQUEST_KINDS[Math.floor(random() * REQUEST_KINDS.length)]!;
      const tenant = this.options.tenants[Math.floor(random() * this.options.tenants.length)]!;
      const prefix = Math.floor(random() * this.#prefixes.length);
      const planned: Planned = { kind, tenant, prefix, prompt: [...this.#prefixes[prefix]!, ...randomTokens(random, this.options.questionTokens)], cancel: kind.endsWith("stream") && random() < this.options.cancelShare };
      await this.#issue(planned);
    }
  }

  async #issue(planned: Planned): Promise<void> {
    const record: SoakRecord = { kind: planned.kind, tenant: planned.tenant.name, prefix: planned.prefix, startMs: performance.now(), endMs: 0, outcome: "ok", cancelPlanned: planned.cancel, completionTokens: 0, cachedPromptTokens: 0 };
    const controller = new AbortController();
    const id = this.#nextId++;
    const progress: InFlightRequest = { kind: planned.kind, tenant: planned.tenant.name, startMs: record.startMs, stage: "sent", events: 0, lastEventMs: record.startMs };
    this.#inFlight.set(id, progress);
    // NOTE: the client's own deadline is a plain timer: AbortSignal.timeout inside AbortSignal.any can be collected before it fires on Node 20.
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      if (planned.kind.startsWith("grpc")) await this.#grpc(planned, record, controller, progress);
      else await this.#http(planned, record, controller, progress);
    } catch (err) {
      if (timedOut) {
        record.outcome = "error";
        record.error = `client deadline: no end after ${this.options.timeoutMs} ms (stage ${progress.stage}, ${progress.events} events)`;
      } else if (planned.cancel && controller.signal.aborted && (err instanceof CancelledError || (err as Error).name === "AbortError")) record.outcome = "cancelled";
      else if (err instanceof RateLimitedError) record.outcome = "refused";
      else {
        record.outcome = "error";
        record.error = `${(err as Error).name}: ${(err as Error).message}`;
      }
    } finally {
      clearTimeout(deadline);
      this.#inFlight.delete(id);
    }
    if (progress.requestId !== undefined) record.requestId ??= progress.requestId;
    record.endMs = performance.now();
    this.records.push(record);
  }

  async #grpc(planned: Planned, record: SoakRecord, controller: AbortController, progress: InFlightRequest): Promise<void> {
    const sdk = this.#sdk.get(planned.tenant.name)!;
    const request = { model: MODEL, prompt: planned.prompt, maxTokens: this.options.maxTokens, temperature: 0, ignoreEos: true };
    const call = { signal: controller.signal, timeoutMs: this.options.timeoutMs };
    if (planned.kind === "grpc-unary") {
      const completion = await sdk.complete(request, call);
      record.completionTokens = completion.usage.completionTokens;
      record.cachedPromptTokens = completion.usage.cachedPromptTokens;
      record.requestId = completion.requestId;
      if (completion.finishReason !== "length" && completion.finishReason !== "stop") throw new Error(`finish_reason ${completion.finishReason}: ${completion.errorMessage ?? ""}`);
      return;
    }
    for await (const event of sdk.generate(request, call)) {
      progress.events++;
      progress.lastEventMs = performance.now();
      progress.stage = event.type === "chunk" ? "streaming" : "finished";
      if (event.type === "chunk") {
        if (event.tokenIds.length === 0) continue;
        record.ttftMs ??= performance.now() - record.startMs;
        record.completionTokens += event.tokenIds.length;
        if (planned.cancel) controller.abort();
      } else {
        record.cachedPromptTokens = event.usage.cachedPromptTokens;
        record.requestId = event.requestId;
        if (event.finishReason !== "length" && event.finishReason !== "stop") throw new Error(`finish_reason ${event.finishReason}: ${event.errorMessage ?? ""}`);
      }
    }
  }

  async #http(planned: Planned, record: SoakRecord, controller: AbortController, progress: InFlightRequest): Promise<void> {
    const stream = planned.kind === "http-stream";
    const response = await fetch(`http://${this.options.httpAddress}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${planned.tenant.apiKey}` },
      body: JSON.stringify({ model: MODEL, prompt: planned.prompt, max_tokens: this.options.maxTokens, temperature: 0, ignore_eos: true, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
      signal: controller.signal,
    });
    progress.stage = "headers";
    progress.requestId = response.headers.get("x-request-id") ?? undefined;
    if (!response.ok) {
      const body = await response.text();
      if (refusedHttp(response.status)) throw new RateLimitedError(`HTTP 429: ${body.slice(0, 200)}`);
      throw new Error(`HTTP ${response.status}: ${body.slice(0, 300)}`);
    }
    if (!stream) {
      const text = await response.text();
      const body = JSON.parse(text) as { id?: string; choices: { finish_reason: string }[]; usage: { completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } };
      if (body.id !== undefined) record.requestId = body.id;
      record.completionTokens = body.usage.completion_tokens;
      record.cachedPromptTokens = body.usage.prompt_tokens_details?.cached_tokens ?? 0;
      const reason = body.choices[0]?.finish_reason;
      if (reason !== "length" && reason !== "stop") throw new Error(`finish_reason ${reason}: ${text.slice(0, 300)}`);
      return;
    }
    let finish: string | undefined;
    let done = false;
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const bytes of response.body!) {
      buffered += decoder.decode(bytes as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = frame.split("\n").find((line) => line.startsWith("data: "))?.slice(6);
        if (data === undefined) continue;
        progress.events++;
        progress.lastEventMs = performance.now();
        progress.stage = "streaming";
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const body = JSON.parse(data) as { id?: string; error?: { message: string }; choices: { finish_reason: string | null }[]; usage?: { completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | null };
        if (body.id !== undefined) record.requestId = body.id;
        if (body.error !== undefined) throw new Error(`SSE error: ${body.error.message}`);
        if (body.usage) {
          record.completionTokens = body.usage.completion_tokens;
          record.cachedPromptTokens = body.usage.prompt_tokens_details?.cached_tokens ?? 0;
        }
        const choice = body.choices[0];
        if (choice === undefined) continue;
        record.ttftMs ??= performance.now() - record.startMs;
        if (choice.finish_reason !== null) finish = choice.finish_reason;
        if (planned.cancel) controller.abort();
      }
    }
    if (!done) throw new Error("SSE stream ended without [DONE]");
    if (finish !== "length" && finish !== "stop") throw new Error(`finish_reason ${finish}`);
  }
}
