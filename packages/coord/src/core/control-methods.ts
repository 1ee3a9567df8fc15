/**
 * The control verbs as data: each binds a verb to its request and reply
 * messages, and both sides of a request are written once, here.
 *
 * Worker side: a handler's error (or a reply too large to send) becomes an
 * error reply, so the requester gets a ControlHandlerError naming it rather
 * than a timeout. The worker's own onError hears of it as well. Requester side: an error reply is thrown as that error.
 * The snapshot verb's handler speaks kvcache's KvSnapshot; its page is encoded here (and decoded by the requester) with the KV-event codec.
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { coordv1 } from "@sigmaserve/proto";
import type { ControlContext, ControlHandlers } from "../coord-bus.js";
import { ControlHandlerError } from "../errors.js";
import { CONTROL_VERBS, type ControlVerb } from "../subjects.js";
import { asError, decodeFrom, encodeGuarded } from "./codec.js";
import { encodeKvSnapshotPage } from "./kv-event-codec.js";
import type { ControlHeaders, ControlReply } from "./transport.js";

export interface ControlMethod<Req extends DescMessage, Res extends DescMessage> {
  readonly verb: ControlVerb;
  readonly request: Req;
  readonly reply: Res;
}

export const SNAPSHOT_METHOD = {
  verb: CONTROL_VERBS.snapshot,
  request: coordv1.KvSnapshotRequestSchema,
  reply: coordv1.KvSnapshotResponseSchema,
} satisfies ControlMethod<DescMessage, DescMessage>;

export const DRAIN_METHOD = {
  verb: CONTROL_VERBS.drain,
  request: coordv1.DrainCommandSchema,
  reply: coordv1.DrainStatusSchema,
} satisfies ControlMethod<DescMessage, DescMessage>;

export const MIGRATE_OFFER_METHOD = {
  verb: CONTROL_VERBS.migrateOffer,
  request: coordv1.MigrationOfferSchema,
  reply: coordv1.MigrationReplySchema,
} satisfies ControlMethod<DescMessage, DescMessage>;

/** NOTE: the proto has no ack message for migrate.done; google.protobuf.Empty (zero bytes) stands in. */
export const MIGRATE_DONE_METHOD = {
  verb: CONTROL_VERBS.migrateDone,
  request: coordv1.MigrationDoneSchema,
  reply: EmptySchema,
} satisfies ControlMethod<DescMessage, DescMessage>;

export const MIGRATE_REQUEST_METHOD = {
  verb: CONTROL_VERBS.migrateRequest,
  request: coordv1.MigrationRequestSchema,
  reply: coordv1.MigrationResultSchema,
} satisfies ControlMethod<DescMessage, DescMessage>;

/** Answers the requests of one verb. */
export interface BoundControlVerb {
  readonly verb: ControlVerb;
  respond(requestBytes: Uint8Array, headers: ControlHeaders): Promise<ControlReply>;
}

/** Binds each handler present in `handlers` to its verb. */
export function bindControlHandlers(
  handlers: ControlHandlers,
  subjectOf: (verb: ControlVerb) => string,
  limitBytes: () => number,
  onError: (err: Error) => void,
): BoundControlVerb[] {
  const bound: BoundControlVerb[] = [];
  const add = <Req extends DescMessage, Res extends DescMessage>(
    method: ControlMethod<Req, Res>,
    handle: ((request: MessageShape<Req>, context: ControlContext) => Promise<MessageShape<Res>>) | undefined,
  ) => {
    if (handle === undefined) return;
    const subject = subjectOf(method.verb);
    bound.push({
      verb: method.verb,
      respond: async (requestBytes, headers) => {
        try {
          const request = decodeFrom(method.request, requestBytes, subject);
          const reply = await handle(request, { headers });
          return { ok: true, bytes: encodeGuarded(method.reply, reply, subject, limitBytes()) };
        } catch (thrown) {
          const err = asError(thrown);
          onError(err);
          return { ok: false, errorName: oneLine(err.name), message: oneLine(err.message) };
        }
      },
    });
  };
  const snapshot = handlers.snapshot?.bind(handlers);
  add(SNAPSHOT_METHOD, snapshot && (async (request, context) => encodeKvSnapshotPage(await snapshot(request, context))));
  add(DRAIN_METHOD, handlers.drain?.bind(handlers));
  add(MIGRATE_OFFER_METHOD, handlers.migrateOffer?.bind(handlers));
  const done = handlers.migrateDone?.bind(handlers);
  add(MIGRATE_DONE_METHOD, done && (async (request, context) => (await done(request, context), create(EmptySchema))));
  add(MIGRATE_REQUEST_METHOD, handlers.migrateRequest?.bind(handlers));
  return bound;
}

/** Longest error message carried back to a requester. */
export const MAX_CONTROL_ERROR_CHARS = 1_024;

/** An error text as it travels back: one line (NATS headers are single-line), and short. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, MAX_CONTROL_ERROR_CHARS);
}

/** The requester's half: decodes a reply, or throws the handler's error as a ControlHandlerError. */
export function readControlReply<Res extends DescMessage>(method: { reply: Res }, subject: string, reply: ControlReply): MessageShape<Res> {
  if (!reply.ok) throw new ControlHandlerError(subject, reply.errorName, reply.message);
  return decodeFrom(method.reply, reply.bytes, subject);
}
