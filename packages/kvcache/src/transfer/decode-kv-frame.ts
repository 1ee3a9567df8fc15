/**
 * Decodes a KV frame into fresh arrays: the convenience form of
 * decodeKvFrameInto. Good blocks come back in frame order, each in its own
 * Float32Array (allocated only after its checksum passed, so a lying frame
 * cannot make us allocate more than about twice its own size); corrupt blocks
 * are listed in `refused` and absent from `blocks`.
 */
import type { BlockHash, KvComponent } from "../kv-types.js";
import { importFrameBlocks } from "./decode-kv-frame-into.js";
import type { KvFrameExpectation, KvFrameShape, KvRefusedBlock, KvWireDtype } from "./kv-frame-layout.js";
import { readKvFrameHeader } from "./read-kv-frame-header.js";

export interface DecodedKvFrame {
  component: KvComponent;
  wireDtype: KvWireDtype;
  shape: KvFrameShape;
  /** Blocks whose checksum passed, in frame order, widened to f32 (exact) whatever the wire dtype. */
  blocks: { hash: BlockHash; data: Float32Array }[];
  /** Blocks whose checksum failed: to be recomputed, never used. */
  refused: KvRefusedBlock[];
}

export function decodeKvFrame(bytes: Uint8Array, expected?: KvFrameExpectation): DecodedKvFrame {
  const header = readKvFrameHeader(bytes, expected);
  const blocks: DecodedKvFrame["blocks"] = [];
  const imported = importFrameBlocks(bytes, header, (_index, hash) => {
    const data = new Float32Array(header.elementsPerBlock);
    blocks.push({ hash, data });
    return data;
  });
  return { component: imported.component, wireDtype: imported.wireDtype, shape: imported.shape, blocks, refused: imported.refused };
}
