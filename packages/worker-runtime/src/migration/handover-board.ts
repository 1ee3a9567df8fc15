/**
 * Where a handed-over request went. A drain with migration registers the
 * request here before taking it off the scheduler, and settles it with the
 * target worker once the request's blocks are there (or with null when the
 * migration failed and the router should pick by itself, replaying the
 * tokens). The request's gRPC stream waits for that answer before it ends,
 * so the router never continues a request before its cache has landed.
 */
export class HandoverBoard {
  private readonly entries = new Map<string, { promise: Promise<string | null>; resolve: (target: string | null) => void }>();

  /** Registers a handover about to happen. */
  expect(requestId: string): void {
    if (this.entries.has(requestId)) return;
    let resolve!: (target: string | null) => void;
    const promise = new Promise<string | null>((r) => (resolve = r));
    this.entries.set(requestId, { promise, resolve });
  }

  /** The request's new worker (null: none chosen, replay anywhere). */
  settle(requestId: string, target: string | null): void {
    this.entries.get(requestId)?.resolve(target);
  }

  /** Resolves with where the request went, and forgets it; null at once for a request not registered. */
  async outcome(requestId: string): Promise<string | null> {
    const entry = this.entries.get(requestId);
    if (entry === undefined) return null;
    try {
      return await entry.promise;
    } finally {
      this.entries.delete(requestId);
    }
  }
}
