/**
 * ExportKv's frame messages, built so the KV frame is written once, in place,
 * as the tail of the message grpc-js sends: protobuf-es would otherwise copy
 * every multi-MiB payload into a message of its own (its writer's chunks,
 * then their join), which cost more CPU than the frame codec itself. The
 * message is standard protobuf binary (ExportKvResponse.frame with its
 * payload last), so any reader decodes it; a test holds it equal to
 * protobuf-es's own encoding.
 *
 * The messages' memory is reused: once grpc-js has copied a message into its
 * own framed buffer (EncodedMessage's onSerialized), the buffer goes back to a
 * free list for a later frame of the same export. A fresh 4 MiB buffer per
 * frame cost the source a full garbage collection every 64 MiB or so (V8
 * collects when external memory grows by that much) and the page faults of
 * fresh memory on every frame; the free list holds at most the frames grpc-js
 * has queued and not yet serialised (its writable's high-water mark).
 *
 * Layout: 0x0a varint(L) | KvTransferFrame's component, dtype and blocks | 0x22 varint(P) | frame (P bytes)
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { kvComponentToProto, kvDtypeToProto } from "@sigmaserve/coord";
import type { BlockHash, KvComponent, KvFrameAllocator, KvWireDtype } from "@sigmaserve/kvcache";
import { EncodedMessage, kvv1 } from "@sigmaserve/proto";

/** ExportKvResponse.frame and KvTransferFrame.payload: the field numbers the layout above writes. */
const FRAME_FIELD = 1;
const PAYLOAD_FIELD = 4;

/**
 * An allocator for KvCacheManager.exportFrames that lays each frame into an
 * ExportKvResponse message (in a reused buffer when one is free), and `take()`
 * to get that message once the frame is written. `wireDtype` is each
 * component's dtype in its frames (the message's dtype field says the same).
 */
export function exportFrameMessages(wireDtype: Readonly<Record<KvComponent, KvWireDtype>>, parents: ReadonlyMap<BlockHash, BlockHash | null>): { allocate: KvFrameAllocator; take(): EncodedMessage } {
  /** The message being written, and the buffer it lies at the start of. */
  let message: { bytes: Buffer; buffer: Buffer } | undefined;
  /** Buffers grpc-js has copied out of, free for the next frames. */
  const free: Buffer[] = [];
  const bufferOf = (bytes: number): Buffer => {
    const index = free.findIndex((b) => b.length >= bytes);
    // allocUnsafeSlow: every byte is written (head here, frame by the caller), and the message owns its memory.
    return index < 0 ? Buffer.allocUnsafeSlow(bytes) : free.splice(index, 1)[0]!;
  };
  const allocate = (frameBytes: number, frame: { component: KvComponent; hashes: readonly BlockHash[] }): Uint8Array => {
    const head = toBinary(
      kvv1.KvTransferFrameSchema,
      create(kvv1.KvTransferFrameSchema, {
        component: kvComponentToProto(frame.component),
        dtype: kvDtypeToProto(wireDtype[frame.component]),
        blocks: frame.hashes.map((blockHash) => {
          const parent = parents.get(blockHash) ?? null;
          return parent === null ? { blockHash } : { blockHash, parentBlockHash: parent };
        }),
      }),
    );
    const payloadHead = new BinaryWriter().tag(PAYLOAD_FIELD, WireType.LengthDelimited).uint32(frameBytes).finish();
    const inner = head.length + payloadHead.length + frameBytes;
    const outerHead = new BinaryWriter().tag(FRAME_FIELD, WireType.LengthDelimited).uint32(inner).finish();
    const buffer = bufferOf(outerHead.length + inner);
    const bytes = buffer.subarray(0, outerHead.length + inner);
    bytes.set(outerHead, 0);
    bytes.set(head, outerHead.length);
    bytes.set(payloadHead, outerHead.length + head.length);
    message = { bytes, buffer };
    return bytes.subarray(bytes.length - frameBytes);
  };
  return {
    allocate,
    take: () => {
      if (message === undefined) throw new Error("no frame message was allocated");
      const { bytes, buffer } = message;
      message = undefined;
      return new EncodedMessage(bytes, () => free.push(buffer));
    },
  };
}
