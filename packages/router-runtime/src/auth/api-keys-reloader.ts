/**
 * Reloads the keys file while the router runs: when the file changes (polled
 * with fs.watchFile, every API_KEYS_POLL_INTERVAL_MS) and on demand (SIGHUP,
 * wired in apps/router). A new table replaces the old at once; requests
 * already admitted keep the tenant they were authenticated as.
 *
 * A reload that fails keeps the keys loaded before and logs an error: a file
 * that does not parse, is missing or unreadable, or is empty while keys were
 * on. NOTE: the last one above all: an empty table means "no keys = open", and
 * a truncated file must never open a router that had keys. To turn keys off,
 * restart without --api-keys-file.
 *
 * Write the file by rename (write a temporary file, then mv) so a poll never
 * reads it half written; a half-written file is refused anyway and the next
 * change is read.
 */
import { unwatchFile, watchFile, type Stats } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { ApiKeys } from "./api-keys.js";
import { parseApiKeys } from "./parse-api-keys.js";

/** How often the keys file's mtime and size are polled, ms: a changed key works within this. */
export const API_KEYS_POLL_INTERVAL_MS = 1_000;

export class ApiKeysReloader {
  /** Reloads run one at a time, in order (a change during a reload reads the file again after it). */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    void this.reload();
  };

  constructor(
    private readonly apiKeys: ApiKeys,
    private readonly file: string,
    private readonly logger: Logger,
    private readonly pollIntervalMs: number = API_KEYS_POLL_INTERVAL_MS,
  ) {}

  start(): void {
    // persistent: false: the poll alone must not keep the process alive.
    watchFile(this.file, { interval: this.pollIntervalMs, persistent: false }, this.onChange);
  }

  stop(): void {
    unwatchFile(this.file, this.onChange);
  }

  /** Reads the file and swaps the table; resolves false (the old keys stay, an error is logged) when it cannot. */
  reload(): Promise<boolean> {
    const next = this.chain.then(() => this.reloadNow());
    this.chain = next;
    return next;
  }

  private async reloadNow(): Promise<boolean> {
    const before = this.apiKeys.size;
    try {
      const entries = parseApiKeys(await readFile(this.file, "utf8"), this.file);
      if (entries.length === 0 && before > 0) throw new Error(`${this.file}: holds no keys; an empty table would open the router to everyone (restart without --api-keys-file to turn keys off)`);
      this.apiKeys.replace(entries);
      this.logger.info({ file: this.file, keys: entries.length, tenants: new Set(entries.map((e) => e.tenant)).size }, "API keys reloaded");
      return true;
    } catch (err) {
      this.logger.error({ file: this.file, keys: before, err: (err as Error).message }, "API keys reload failed; the keys loaded before stay in force");
      return false;
    }
  }
}
