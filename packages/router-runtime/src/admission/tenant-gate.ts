/**
 * Per-tenant admission, in front of the router-wide slots (AdmissionController
 * calls it first). Three limits, each per tenant and per router:
 *
 * - In flight: a tenant holds at most `maxInFlight` requests past this gate
 *   (running, or waiting for a router slot); up to `maxQueued` more wait here
 *   for one of its own slots, in arrival order; past that it is refused. So
 *   one tenant's streams cannot take every router slot and get another tenant
 *   refused: the others always find the slots it may not hold.
 * - Requests per second and tokens per second: token buckets (token-bucket.ts),
 *   checked at arrival, before any wait. A request costs 1 request and
 *   `prompt tokens + max_tokens` tokens. NOTE: max_tokens, not the tokens it
 *   will produce: that is unknown at admission, and reserving the most it may
 *   produce is what keeps a tenant from launching a thousand long generations
 *   inside one second's budget. The unused part comes back when the caller
 *   reports what the request used (TenantTicket.leave).
 *
 * A refusal is a TenantLimitError naming the tenant's limit, with the wait
 * until a retry can pass (the bucket's refill time; for the in-flight cap the
 * router's usual hint). A request that never runs (refused later, cancelled
 * while waiting) gets its bucket tokens back.
 *
 * Tenants come from the keys file, so their state is never evicted: the map
 * is as large as the file.
 */
import type { Tenant, TenantLimitOverrides } from "../auth/api-keys.js";
import { TenantLimitError, type TenantLimit } from "../errors.js";
import { DEFAULT_MAX_TOKENS } from "../generate/validate-request.js";
import { DEFAULT_RETRY_AFTER_MS } from "./admission-controller.js";
import { DEFAULT_BURST_S, TokenBucket, type Clock } from "./token-bucket.js";

/** Share of --max-in-flight (and --max-queued) one tenant may hold when API keys are on and --tenant-max-in-flight is not given. */
export const DEFAULT_TENANT_SHARE = 0.5;

/** The limits every tenant gets unless its keys-file entry overrides them. Rates of 0 are off. */
export interface TenantLimits {
  maxInFlight: number;
  maxQueued: number;
  requestsPerS: number;
  /** Default: one second's worth of requestsPerS (at least 1). */
  requestsBurst?: number | undefined;
  tokensPerS: number;
  /** Default: one second's worth of tokensPerS. */
  tokensBurst?: number | undefined;
}

/** What admission knows of a request: its tenant and what it reserves. */
export interface AdmissionClaim {
  tenant: Tenant;
  request: { promptTokens: readonly number[]; sampling: { maxTokens?: number | undefined } };
}

/** A request past the gate. Both calls are idempotent, and only the first of them counts. */
export interface TenantTicket {
  /** It ran and ended: frees its slot; `usedTokens` (prompt + completion) refunds the rest of its reservation. */
  leave(usedTokens?: number): void;
  /** It never ran (refused or cancelled after the gate): frees its slot and refunds everything it took. */
  cancel(): void;
}

export interface TenantGateOptions {
  limits: TenantLimits;
  /** Retry hint for the in-flight cap, ms; default DEFAULT_RETRY_AFTER_MS. */
  retryAfterMs?: number;
  /** Called on every refusal (metrics). */
  onLimited?: (tenant: string, limit: TenantLimit) => void;
  clock?: Clock;
}

interface Bucket {
  /** "rate/burst": a reload that changes either starts a new (full) bucket. */
  spec: string;
  bucket: TokenBucket;
}

interface TenantState {
  inFlight: number;
  queue: (() => void)[];
  requests: Bucket | undefined;
  tokens: Bucket | undefined;
}

/** The in-flight cap a tenant gets by default: DEFAULT_TENANT_SHARE of the router's, at least 1. */
export function defaultTenantShare(routerLimit: number): number {
  return Math.max(1, Math.floor(routerLimit * DEFAULT_TENANT_SHARE));
}

const burstOf = (ratePerS: number, burst: number | undefined) => burst ?? Math.max(1, ratePerS * DEFAULT_BURST_S);

export class TenantGate {
  private readonly tenants = new Map<string, TenantState>();

  constructor(private readonly options: TenantGateOptions) {}

  /** Running (past the gate) and waiting requests of a tenant. */
  stats(tenant: string): { inFlight: number; queued: number } {
    const state = this.tenants.get(tenant);
    return { inFlight: state?.inFlight ?? 0, queued: state?.queue.length ?? 0 };
  }

  /** Resolves once the tenant may go on to a router slot; throws TenantLimitError, or the abort reason. */
  async enter(claim: AdmissionClaim, signal?: AbortSignal): Promise<TenantTicket> {
    const { id } = claim.tenant;
    const limits = this.limitsFor(claim.tenant.limits);
    const state = this.stateOf(id, limits);
    const cost = claim.request.promptTokens.length + (claim.request.sampling.maxTokens ?? DEFAULT_MAX_TOKENS);
    const requests = state.requests?.bucket;
    const tokens = state.tokens?.bucket;
    const requestsWaitMs = requests?.waitMs(1) ?? 0;
    const tokensWaitMs = tokens?.waitMs(cost) ?? 0;
    if (tokensWaitMs > requestsWaitMs) {
      throw this.refuse(id, "tokens_per_s", tokensWaitMs, `tenant "${id}" is over its limit of ${tokens!.ratePerS} tokens/s (prompt + max_tokens; burst ${tokens!.burst}, this request reserves ${cost}); retry in ${tokensWaitMs} ms`);
    }
    if (requestsWaitMs > 0) throw this.refuse(id, "requests_per_s", requestsWaitMs, `tenant "${id}" is over its limit of ${requests!.ratePerS} requests/s (burst ${requests!.burst}); retry in ${requestsWaitMs} ms`);
    requests?.take(1);
    tokens?.take(cost);
    const refundAll = () => {
      requests?.refund(1);
      tokens?.refund(cost);
    };
    if (signal?.aborted) {
      refundAll();
      throw abortReason(signal);
    }
    if (state.inFlight < limits.maxInFlight) state.inFlight++;
    else if (state.queue.length >= limits.maxQueued) {
      refundAll();
      const retryAfterMs = this.options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
      throw this.refuse(id, "in_flight", retryAfterMs, `tenant "${id}" is at its limit of ${limits.maxInFlight} requests in flight, with ${state.queue.length} more queued; retry later`);
    } else {
      try {
        await this.waitInQueue(state, signal);
      } catch (err) {
        refundAll();
        throw err;
      }
    }
    let done = false;
    const end = (refund: number) => {
      if (done) return;
      done = true;
      const next = state.queue.shift();
      // The slot passes to the next waiter as is (the count stays), or is freed.
      if (next !== undefined) next();
      else state.inFlight--;
      if (refund > 0) tokens?.refund(refund);
    };
    return {
      leave: (usedTokens) => end(usedTokens === undefined ? 0 : cost - usedTokens),
      cancel: () => {
        if (!done) requests?.refund(1);
        end(cost);
      },
    };
  }

  private waitInQueue(state: TenantState, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = state.queue.indexOf(entry);
        if (index >= 0) state.queue.splice(index, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      state.queue.push(entry);
    });
  }

  private refuse(tenant: string, limit: TenantLimit, retryAfterMs: number, message: string): TenantLimitError {
    this.options.onLimited?.(tenant, limit);
    return new TenantLimitError(message, tenant, limit, retryAfterMs);
  }

  /** The router's limits with the tenant's own on top; an overridden rate brings its own default burst. */
  private limitsFor(overrides: TenantLimitOverrides | undefined): Required<Omit<TenantLimits, "requestsBurst" | "tokensBurst">> & { requestsBurst: number; tokensBurst: number } {
    const base = this.options.limits;
    const o = overrides ?? {};
    const requestsPerS = o.requestsPerS ?? base.requestsPerS;
    const tokensPerS = o.tokensPerS ?? base.tokensPerS;
    return {
      maxInFlight: o.maxInFlight ?? base.maxInFlight,
      maxQueued: base.maxQueued,
      requestsPerS,
      requestsBurst: o.requestsBurst ?? burstOf(requestsPerS, o.requestsPerS === undefined ? base.requestsBurst : undefined),
      tokensPerS,
      tokensBurst: o.tokensBurst ?? burstOf(tokensPerS, o.tokensPerS === undefined ? base.tokensBurst : undefined),
    };
  }

  private stateOf(tenant: string, limits: ReturnType<TenantGate["limitsFor"]>): TenantState {
    let state = this.tenants.get(tenant);
    if (state === undefined) this.tenants.set(tenant, (state = { inFlight: 0, queue: [], requests: undefined, tokens: undefined }));
    state.requests = this.bucket(state.requests, limits.requestsPerS, limits.requestsBurst);
    state.tokens = this.bucket(state.tokens, limits.tokensPerS, limits.tokensBurst);
    return state;
  }

  private bucket(current: Bucket | undefined, ratePerS: number, burst: number): Bucket | undefined {
    if (ratePerS === 0) return undefined;
    const spec = `${ratePerS}/${burst}`;
    return current?.spec === spec ? current : { spec, bucket: new TokenBucket(ratePerS, burst, this.options.clock) };
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("cancelled while queued");
}
