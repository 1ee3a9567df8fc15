/**
 * A request the server could not decode. grpc-js answers a deserializer that
 * throws with INTERNAL ("Error deserializing request"), as if the server had
 * failed; a message that is not valid for its schema is the client's fault.
 * So the server's deserializer returns this instead of throwing, and
 * bindService answers INVALID_ARGUMENT with a BadRequest naming the field
 * when it can be told: a string field whose bytes are not valid UTF-8 (proto3
 * requires UTF-8) is found by walking the wire format against the schema
 * (`text`, `sampling.stop[2]`).
 */
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { status } from "@grpc/grpc-js";
import { badRequestError } from "./bad-request.js";
import { GrpcStatusError } from "./grpc-status-error.js";

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
/** Nesting the walk follows at most (protobuf-es's own recursion limit is 100). */
const MAX_DEPTH = 32;

export class UndecodableMessage {
  constructor(
    readonly schema: DescMessage,
    readonly bytes: Uint8Array,
    readonly cause: unknown,
  ) {}

  /** The status the client gets: INVALID_ARGUMENT, with a BadRequest when the bad field was found. */
  toStatusError(): GrpcStatusError {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause);
    const field = invalidUtf8Field(this.schema, this.bytes);
    if (field !== undefined) return badRequestError([{ field, description: "is not valid UTF-8 (a protobuf string must be)" }]);
    return new GrpcStatusError(status.INVALID_ARGUMENT, `the ${this.schema.typeName} cannot be decoded: ${reason}`, { cause: this.cause });
  }
}

/** The path of the first string field of `bytes` (a `schema` message) that is not valid UTF-8; undefined if none is. */
export function invalidUtf8Field(schema: DescMessage, bytes: Uint8Array, prefix = "", depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const reader = new BinaryReader(bytes);
  const seen = new Map<number, number>();
  try {
    while (reader.pos < reader.len) {
      const [fieldNo, wireType] = reader.tag();
      const field = schema.fields.find((f) => f.number === fieldNo);
      if (field === undefined || wireType !== WireType.LengthDelimited) {
        reader.skip(wireType, fieldNo);
        continue;
      }
      const index = seen.get(fieldNo) ?? 0;
      seen.set(fieldNo, index + 1);
      const value = reader.bytes();
      const path = `${prefix}${field.name}${field.fieldKind === "list" ? `[${index}]` : ""}`;
      const found = checkField(field, value, path, depth);
      if (found !== undefined) return found;
    }
  } catch {
    // Malformed framing: nothing more can be named.
  }
  return undefined;
}

function checkField(field: DescField, value: Uint8Array, path: string, depth: number): string | undefined {
  if ((field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) && field.scalar === ScalarType.STRING) {
    try {
      STRICT_UTF8.decode(value);
    } catch {
      return path;
    }
    return undefined;
  }
  if (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) return invalidUtf8Field(field.message, value, `${path}.`, depth + 1);
  return undefined;
}
