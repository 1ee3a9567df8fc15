/**
 * One pass of a registry watch: list the bucket, then follow it, until the
 * consumer dies or the caller stops it. NatsRegistryWatch runs one session
 * per connection lifetime and starts a new one (a re-listing) after each
 * reconnect.
 *
 * The listing is an ordered push consumer on the bucket's stream with
 * "last per subject" delivery: the newest message of every key, then every
 * later write. It ends when the messages counted at creation (num_pending)
 * have arrived, or one arrives with pending 0. NOTE: an entry can expire
 * between the count and its delivery; then neither happens, and the listing
 * ends LISTING_SETTLE_MS after the last message instead.
 *
 * This is what `kv.watch()` does inside; it is done here because kv.watch()
 * does not say when the initial values are over for an empty bucket.
 */
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg, type PushConsumer } from "@nats-io/jetstream";
import type { RegistrySink } from "../core/transport.js";
import { CoordUnavailableError } from "../errors.js";

/** The KV operation header of a JetStream KV message ("DEL" / "PURGE"; absent on a put). */
const KV_OPERATION_HEADER = "KV-Operation";
/** Quiet time after which an unfinished listing is taken as complete (see the module note). */
export const LISTING_SETTLE_MS = 1_000;
/** Consumer notifications after which the session is over (the stream or consumer is gone). */
const FATAL_NOTIFICATIONS: ReadonlySet<string> = new Set(["consumer_deleted", "stream_not_found", "consumer_not_found"]);

export interface WatchSession {
  /** Resolves when the session is over, whoever ended it. */
  readonly ended: Promise<void>;
  stop(): void;
}

/**
 * Opens a session on `bucket`; resolves once the listing has been handed to
 * `sink.relist()`. Rejects if the listing cannot be made.
 */
export async function openWatchSession(
  js: JetStreamClient,
  bucket: string,
  sink: RegistrySink,
  localTtlMs: number,
): Promise<WatchSession> {
  const prefix = `$KV.${bucket}.`;
  const consumer: PushConsumer = await js.consumers.getPushConsumer(`KV_${bucket}`, {
    filter_subjects: `${prefix}>`,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  let remaining = (await consumer.info(true)).num_pending;
  const listing = new Map<string, Uint8Array>();
  const deleted = new Set<string>();
  let listed = false;
  let settle: NodeJS.Timeout | undefined;
  let resolveListed!: () => void;
  let rejectListed!: (err: Error) => void;
  const listedPromise = new Promise<void>((resolve, reject) => {
    resolveListed = resolve;
    rejectListed = reject;
  });
  const finishListing = () => {
    if (listed) return;
    listed = true;
    clearTimeout(settle);
    sink.relist({ entries: listing, deleted, localTtlMs });
    resolveListed();
  };
  const armSettle = () => {
    clearTimeout(settle);
    settle = setTimeout(finishListing, LISTING_SETTLE_MS);
  };

  const onMessage = (m: JsMsg) => {
    const key = m.subject.slice(prefix.length);
    const operation = m.headers?.get(KV_OPERATION_HEADER) ?? "";
    const removed = operation === "DEL" || operation === "PURGE";
    if (listed) {
      if (removed) sink.remove(key, "deregistered");
      else sink.put(key, m.data.slice());
      return;
    }
    if (removed) {
      listing.delete(key);
      deleted.add(key);
    } else {
      deleted.delete(key);
      listing.set(key, m.data.slice());
    }
    remaining--;
    if (remaining <= 0 || m.info.pending === 0) finishListing();
    else armSettle();
  };

  let messages: ConsumerMessages;
  try {
    messages = await consumer.consume({ callback: onMessage });
  } catch (err) {
    void consumer.delete().catch(() => {});
    throw err;
  }
  if (remaining <= 0) finishListing();
  else armSettle();

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(settle);
    messages.stop();
    // Best effort: an ephemeral consumer nobody reads also goes away by itself after its inactive threshold.
    void consumer.delete().catch(() => {});
  };
  void (async () => {
    for await (const note of messages.status()) {
      if (FATAL_NOTIFICATIONS.has(note.type)) stop();
    }
  })().catch(() => {});
  const ended = messages.closed().then(
    () => undefined,
    () => undefined,
  );
  void ended.then(() => {
    stop();
    rejectListed(new CoordUnavailableError(`the watch of ${bucket} ended before its listing completed`));
  });

  try {
    await listedPromise;
  } catch (err) {
    stop();
    throw err;
  }
  return { ended, stop };
}
