/**
 * Records what a callback receives and lets a test wait for the item it
 * expects, with a deadline that names what was awaited and what came instead.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<{ predicate: (item: T) => boolean; resolve: (item: T) => void }>();

  /** The callback to hand to the bus (bound, so it can be passed as is). */
  readonly push = (item: T): void => {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (waiter.predicate(item)) {
        this.#waiters.delete(waiter);
        waiter.resolve(item);
      }
    }
  };

  /** The first item (already recorded at index `since` or later, or still to come) that matches. */
  waitFor(predicate: (item: T) => boolean, timeoutMs: number, what: string, since = 0): Promise<T> {
    const seen = this.items.slice(since).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; recorded ${this.items.length} items`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  filter(predicate: (item: T) => boolean): T[] {
    return this.items.filter(predicate);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
