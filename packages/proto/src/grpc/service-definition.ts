/**
 * protobuf-es service descriptor → grpc-js ServiceDefinition.
 *
 * protoc-gen-es emits descriptors (`GenService`) but no grpc-js stubs, so this
 * builds the definition grpc-js wants from the descriptor at run time: the path
 * `/package.Service/Method`, the streaming flags, and (de)serialisers that go
 * through protobuf-es's binary codec. The same definition serves both
 * `server.addService` and `makeGenericClientConstructor`.
 */
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { UndecodableMessage } from "./undecodable-message.js";

/** Path grpc-js routes a method by: `/sigmaserve.v1.InferenceService/Generate`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * A message already in protobuf binary, which the serialisers pass through as
 * it is. The typed client encodes requests before starting the call, so that
 * a message the wire cannot carry (a float32 out of range, a negative uint32)
 * fails as the caller's mistake, before anything is sent (create-client.ts); a
 * server streaming multi-MiB payloads writes them in place into their message
 * instead of having the codec copy them (the worker's ExportKv).
 */
export class EncodedMessage {
  /**
   * `onSerialized`, for server responses only: called once grpc-js has taken
   * the bytes, after which the sender may reuse them. grpc-js's server copies
   * a response into its own length-prefixed buffer synchronously, in the same
   * call that serialises it (server-interceptors' serializeMessage), so the
   * callback runs as a microtask, after that copy. A message written and
   * never serialised (the call ended first) never calls back.
   */
  constructor(
    readonly bytes: Buffer,
    private readonly onSerialized?: () => void,
  ) {}

  /** The bytes, for the serialiser (which must copy them before it returns). */
  take(): Buffer {
    if (this.onSerialized !== undefined) queueMicrotask(this.onSerialized);
    return this.bytes;
  }
}

/** A message (or plain init object) of `schema` in protobuf binary; throws when a value does not fit its field's type. */
export function encodeMessage(schema: DescMessage, value: unknown): Buffer {
  // NOTE: create() returns a message of this schema unchanged and fills in a
  // plain init object; without it toBinary fails on plain objects.
  const bytes = toBinary(schema, create(schema, value as never));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function serializer(schema: DescMessage): (value: unknown) => Buffer {
  return (value) => (value instanceof EncodedMessage ? value.take() : encodeMessage(schema, value));
}

function deserializer(schema: DescMessage): (bytes: Buffer) => unknown {
  return (bytes) => fromBinary(schema, bytes);
}

/** A server's request deserializer: a message that cannot be decoded comes back as an UndecodableMessage (the client's fault), not thrown. */
function requestDeserializer(schema: DescMessage): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (err) {
      return new UndecodableMessage(schema, bytes, err);
    }
  };
}

/** The grpc-js definition of one method. */
export function grpcMethodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  return {
    path: methodPath(method),
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: serializer(method.input),
    requestDeserialize: requestDeserializer(method.input),
    responseSerialize: serializer(method.output),
    responseDeserialize: deserializer(method.output),
    originalName: method.localName,
  };
}

const definitions = new WeakMap<DescService, ServiceDefinition>();

/**
 * The grpc-js definition of a whole service, keyed by the descriptor's local
 * method names (`generate`, `getInfo`), memoised per descriptor.
 */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  let definition = definitions.get(service);
  if (definition === undefined) {
    definition = Object.fromEntries(service.methods.map((method) => [method.localName, grpcMethodDefinition(method)]));
    definitions.set(service, definition);
  }
  return definition;
}
