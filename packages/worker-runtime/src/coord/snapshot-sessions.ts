/**
 * The worker's snapshot paging sessions. A requester's first request (empty
 * page token) takes one snapshot and cuts it into pages, so every page of it
 * has the same asOfSeq; the rest of the pages wait here, behind a token
 * "<session>:<page index>", until they are asked for.
 *
 * Model: a session lives `ttlMs` after its last page was served (a requester
 * that died mid-way leaves nothing behind for long), at most `maxSessions` are
 * open (opening one more ends the least recently used), and serving the last
 * page ends it. Time comes from an injected clock and expiry is checked when a
 * token is used or a session opened; there are no timers.
 *
 * A token of an ended session fails with SnapshotPageTokenError saying why
 * (expired, evicted, finished), so the requester knows to start over with an
 * empty token. NOTE: session ids are sequential per process; a token from
 * before a worker restart can name a new session, but its pages carry the new
 * epoch, and merging pages of different snapshots is refused (mergeSnapshotPages).
 */
import type { KvSnapshotPage } from "@sigmaserve/coord";
import type { KvSnapshot } from "@sigmaserve/kvcache";
import { SnapshotPageTokenError, WorkerConfigError, type SnapshotPageTokenProblem } from "../errors.js";

/** How long a paging session lives after its last page was served, ms. */
export const DEFAULT_SNAPSHOT_SESSION_TTL_MS = 30_000;
/** Most paging sessions open at once (a router pages one snapshot at a time, so this is routers resyncing at once). */
export const DEFAULT_MAX_SNAPSHOT_SESSIONS = 16;
/** Ended sessions remembered, so a late token says why it failed rather than "unknown". */
const ENDED_SESSIONS_REMEMBERED = 256;

export interface SnapshotSessionsOptions {
  /** Default DEFAULT_SNAPSHOT_SESSION_TTL_MS. */
  ttlMs?: number;
  /** Default DEFAULT_MAX_SNAPSHOT_SESSIONS. */
  maxSessions?: number;
  /** The clock, ms; default Date.now. */
  nowMs?: () => number;
}

interface Session {
  readonly pages: readonly KvSnapshot[];
  lastUsedMs: number;
}

export class SnapshotSessions {
  readonly ttlMs: number;
  readonly maxSessions: number;
  readonly #nowMs: () => number;
  /** Open sessions, least recently used first (a use moves a session to the end). */
  readonly #open = new Map<string, Session>();
  /** Why recent sessions ended, oldest first. */
  readonly #ended = new Map<string, Exclude<SnapshotPageTokenProblem, "unknown" | "malformed">>();
  #nextId = 0;

  constructor(options: SnapshotSessionsOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SNAPSHOT_SESSION_TTL_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SNAPSHOT_SESSIONS;
    this.#nowMs = options.nowMs ?? Date.now;
    if (!(this.ttlMs > 0)) throw new WorkerConfigError(`snapshot session ttlMs must be > 0, got ${this.ttlMs}`);
    if (!(Number.isSafeInteger(this.maxSessions) && this.maxSessions > 0)) throw new WorkerConfigError(`maxSnapshotSessions must be a positive integer, got ${this.maxSessions}`);
  }

  /** Open sessions (expired ones count until the next open() or use prunes them). */
  get size(): number {
    return this.#open.size;
  }

  /** Serves the first of `pages` (one snapshot, at least one page) and keeps the rest behind the returned token. */
  open(pages: readonly KvSnapshot[]): KvSnapshotPage {
    const first = pages[0];
    if (first === undefined) throw new RangeError("a snapshot has at least one page");
    const nowMs = this.#nowMs();
    this.#pruneExpired(nowMs);
    if (pages.length === 1) return { page: first, nextPageToken: "" };
    while (this.#open.size >= this.maxSessions) {
      const [oldest] = this.#open.keys();
      this.#end(oldest!, "evicted");
    }
    const id = String(this.#nextId++);
    this.#open.set(id, { pages, lastUsedMs: nowMs });
    return { page: first, nextPageToken: `${id}:1` };
  }

  /** Serves the page `token` names. Throws SnapshotPageTokenError for a malformed token or a session that ended. */
  next(token: string): KvSnapshotPage {
    const match = /^(\d+):(\d+)$/.exec(token);
    if (match === null) throw new SnapshotPageTokenError(token, "malformed");
    const [, id = "", pageText = ""] = match;
    const index = Number(pageText);
    const session = this.#open.get(id);
    if (session === undefined) throw new SnapshotPageTokenError(token, this.#ended.get(id) ?? "unknown", this.ttlMs);
    const nowMs = this.#nowMs();
    if (nowMs - session.lastUsedMs >= this.ttlMs) {
      this.#end(id, "expired");
      throw new SnapshotPageTokenError(token, "expired", this.ttlMs);
    }
    const page = session.pages[index];
    if (page === undefined || index === 0) throw new SnapshotPageTokenError(token, "unknown", this.ttlMs);
    const last = index === session.pages.length - 1;
    if (last) this.#end(id, "finished");
    else {
      session.lastUsedMs = nowMs;
      this.#open.delete(id);
      this.#open.set(id, session);
    }
    return { page, nextPageToken: last ? "" : `${id}:${index + 1}` };
  }

  #pruneExpired(nowMs: number): void {
    for (const [id, session] of this.#open) if (nowMs - session.lastUsedMs >= this.ttlMs) this.#end(id, "expired");
  }

  #end(id: string, why: "expired" | "evicted" | "finished"): void {
    this.#open.delete(id);
    this.#ended.set(id, why);
    if (this.#ended.size > ENDED_SESSIONS_REMEMBERED) this.#ended.delete(this.#ended.keys().next().value!);
  }
}
