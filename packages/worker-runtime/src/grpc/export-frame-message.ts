/**
 * ExportKv's frame messages, built so the KV frame is written once, in place,
 * as the tail of the message grpc-js sends: protobuf-es would otherwise copy
 * every multi-MiB payload into a message of its own (its writer's chunks,
 * then their join), which cost more CPU than the frame codec itself. The
 * message is standard protobuf binary (ExportKvResponse.frame with its
 * payload last), so any reader decodes it; a test holds it equal to
 * protobuf-es's own encoding.
 *
 * Layout: 0x0a varint(L) | KvTransferFrame's component, dtype and blocks | 0x22 varint(P) | frame (P bytes)
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { kvComponentToProto } from "@sigmaserve/coord";
import type { BlockHash, KvComponent, KvFrameAllocator, KvWireDtype } from "@sigmaserve/kvcache";
import { EncodedMessage, kvv1 } from "@sigmaserve/proto";

/** ExportKvResponse.frame and KvTransferFrame.payload: the field numbers the layout above writes. */
const FRAME_FIELD = 1;
const PAYLOAD_FIELD = 4;

/**
 * An allocator for KvCacheManager.exportFrames that lays each frame into a
 * fresh ExportKvResponse message, and `take()` to get that message once the
 * frame is written.
 */
export function exportFrameMessages(wireDtype: KvWireDtype, parents: ReadonlyMap<BlockHash, BlockHash | null>): { allocate: KvFrameAllocator; take(): EncodedMessage } {
  let message: Buffer | undefined;
  const allocate = (frameBytes: number, frame: { component: KvComponent; hashes: readonly BlockHash[] }): Uint8Array => {
    const head = toBinary(
      kvv1.KvTransferFrameSchema,
      create(kvv1.KvTransferFrameSchema, {
        component: kvComponentToProto(frame.component),
        dtype: wireDtype === "f16" ? kvv1.KvDtype.F16 : kvv1.KvDtype.F32,
        blocks: frame.hashes.map((blockHash) => {
          const parent = parents.get(blockHash) ?? null;
          return parent === null ? { blockHash } : { blockHash, parentBlockHash: parent };
        }),
      }),
    );
    const payloadHead = new BinaryWriter().tag(PAYLOAD_FIELD, WireType.LengthDelimited).uint32(frameBytes).finish();
    const inner = head.length + payloadHead.length + frameBytes;
    const outerHead = new BinaryWriter().tag(FRAME_FIELD, WireType.LengthDelimited).uint32(inner).finish();
    // allocUnsafeSlow: every byte is written (head here, frame by the caller), and the message owns its memory.
    message = Buffer.allocUnsafeSlow(outerHead.length + inner);
    message.set(outerHead, 0);
    message.set(head, outerHead.length);
    message.set(payloadHead, outerHead.length + head.length);
    return message.subarray(message.length - frameBytes);
  };
  return {
    allocate,
    take: () => {
      if (message === undefined) throw new Error("no frame message was allocated");
      const done = new EncodedMessage(message);
      message = undefined;
      return done;
    },
  };
}
