/**
 * Protobuf binary in and out of the bus, with the payload guard on the way out.
 *
 * NOTE: the guard runs on the encoded bytes, before anything is handed to the
 * transport, so an oversize message fails here by name and size instead of as
 * NATS's max_payload error (or, for a request, as a timeout).
 */
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { MessageDecodeError, PayloadTooLargeError } from "../errors.js";

/** Encodes `message`; throws PayloadTooLargeError when the bytes exceed `limitBytes`. */
export function encodeGuarded<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  subject: string,
  limitBytes: number,
): Uint8Array {
  const bytes = toBinary(schema, message);
  if (bytes.byteLength > limitBytes) throw new PayloadTooLargeError(subject, bytes.byteLength, limitBytes);
  return bytes;
}

/** Decodes `bytes` received on `subject`; throws MessageDecodeError when they are not a `schema` message. */
export function decodeFrom<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array, subject: string): MessageShape<Desc> {
  try {
    return fromBinary(schema, bytes);
  } catch (cause) {
    throw new MessageDecodeError(subject, { cause });
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Normalises anything thrown into an Error. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
