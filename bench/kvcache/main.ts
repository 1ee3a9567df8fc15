/**
 * kvcache benchmark.
 *
 * 1. Churn: 10,000 requests through the manager (admit with prefix reuse,
 *    decode steps of appendSlots + commitTokens, free), 64 alive at a time,
 *    on the sigma-tiny shape. Reports operations per second per kind.
 * 2. Transfer: 512 MiB of sigma-1.5b-shaped K and V blocks exported from one
 *    pool into checksummed frames and imported into another pool's slots,
 *    against a plain memory copy of the same bytes between the same arenas,
 *    measured in the same run. The working set is above the 260 MiB L3, so
 *    the figures are DRAM-bound. `export_GBps` / `import_GBps` time the frame
 *    codec alone, over reused 16-block frame buffers (the slots are found
 *    through each manager's attention view); `door_export_GBps` /
 *    `door_import_GBps` time the manager's exportBlocks / importBlocks end to
 *    end (hash lookups, one fresh frame per component, allocation, checksum
 *    verification, registration), as a worker's ExportKv / ImportKv runs them.
 */
import {
  KvCacheManager,
  blockElements,
  decodeKvFrameInto,
  encodeKvFrame,
  kvFrameByteLength,
  kvFrameShape,
  type KvComponent,
  type KvModelShape,
} from "@sigmaserve/kvcache";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { mulberry32 } from "../lib/mulberry32.js";

const MIB = 2 ** 20;


function churn(config: { requests: number; alive: number; decodeSteps: number }) {
  const shape: KvModelShape = { num_hidden_layers: 4, num_key_heads: 1, num_value_heads: 4, head_dim: 32 }; // sigma-tiny
  const blockSizeTokens = 16;
  const kBlock = 4 * 1 * 16 * 32 * 4;
  const vBlock = 4 * 4 * 16 * 32 * 4;
  const manager = new KvCacheManager({
    shape,
    blockSizeTokens,
    modelId: "sigma-tiny",
    bytes: { k: { device: 4096 * kBlock, host: 2048 * kBlock }, v: { device: 2048 * vBlock, host: 2048 * vBlock } },
  });
  const random = mulberry32(42);
  const systemPrompts = Array.from({ length: 8 }, (_, s) => Array.from({ length: 128 }, (_, i) => (s * 131 + i * 7) % 256));
  const ops = { allocate: 0, refused: 0, append: 0, commit: 0, free: 0 };
  let promptTokens = 0;
  let cachedTokens = 0;
  const live: { id: string; left: number }[] = [];
  let next = 0;
  const start = performance.now();
  while (next < config.requests || live.length > 0) {
    while (live.length < config.alive && next < config.requests) {
      const id = `r${next++}`;
      const prompt = [...systemPrompts[Math.floor(random() * systemPrompts.length)]!, ...Array.from({ length: 16 + Math.floor(random() * 184) }, () => Math.floor(random() * 256))];
      ops.allocate++;
      const admission = manager.allocate(id, { promptTokens: prompt });
      if (admission === null) {
        ops.refused++;
        continue;
      }
      manager.commitTokens(id, prompt.slice(admission.numCachedTokens));
      ops.commit++;
      promptTokens += prompt.length;
      cachedTokens += admission.numCachedTokens;
      live.push({ id, left: config.decodeSteps });
    }
    const index = Math.floor(random() * live.length);
    const request = live[index]!;
    ops.append++;
    if (manager.appendSlots(request.id, 1) !== null) {
      manager.commitTokens(request.id, [Math.floor(random() * 256)]);
      ops.commit++;
    }
    if (--request.left === 0) {
      manager.free(request.id);
      ops.free++;
      live[index] = live[live.length - 1]!;
      live.pop();
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const problems = manager.checkInvariants();
  if (problems.length > 0) throw new Error(`churn broke invariants: ${problems.join("; ")}`);
  const total = ops.allocate + ops.append + ops.commit + ops.free;
  return { seconds, ops, total, opsPerSecond: total / seconds, prefixHitRate: cachedTokens / promptTokens };
}

/** A manager with room for exactly `numBlocks` blocks on the device, its arenas touched (a running worker's are). */
function managerOf(shape: KvModelShape, blockSizeTokens: number, numBlocks: number): KvCacheManager {
  const bytes = (component: KvComponent) => ({ device: numBlocks * blockElements(shape, component, blockSizeTokens) * 4, host: 0 });
  const manager = new KvCacheManager({ shape, blockSizeTokens, modelId: "bench", bytes: { k: bytes("k"), v: bytes("v") } });
  const { kDevice, vDevice } = manager.attentionView();
  kDevice.fill(0);
  vDevice.fill(0);
  return manager;
}

/**
 * A manager of `numBlocks` blocks, all held (and hashed) by one request, and
 * each block's K and V slot as a zero-copy view, found through the manager's
 * attention view, in table order.
 */
function heldBlocks(shape: KvModelShape, blockSizeTokens: number, numBlocks: number) {
  const slotFloats = { k: blockElements(shape, "k", blockSizeTokens), v: blockElements(shape, "v", blockSizeTokens) };
  const manager = managerOf(shape, blockSizeTokens, numBlocks);
  const tokens = Array.from({ length: numBlocks * blockSizeTokens }, (_, i) => i % 256);
  if (manager.allocate("all", { promptTokens: tokens, numNewTokens: tokens.length }) === null) throw new Error("bench pool too small");
  manager.commitTokens("all", tokens);
  const attention = manager.attentionView();
  const slots = { kSlot: new Int32Array(numBlocks), vSlot: new Int32Array(numBlocks), vTier: new Uint8Array(numBlocks) };
  attention.fillBlockSlots("all", slots, 0);
  // The bench's pools are f32 (the manager's default dtype), so their arenas are Float32Arrays.
  const views: Record<KvComponent, Float32Array[]> = {
    k: Array.from(slots.kSlot, (slot) => (attention.kDevice as Float32Array).subarray(slot * slotFloats.k, (slot + 1) * slotFloats.k)),
    v: Array.from(slots.vSlot, (slot) => (attention.vDevice as Float32Array).subarray(slot * slotFloats.v, (slot + 1) * slotFloats.v)),
  };
  return { manager, views, hashes: manager.promptBlockHashes(tokens) };
}

function transfer(config: { totalMiB: number; blocksPerFrame: number; wireDtype: "f32" | "f16" }) {
  const shape: KvModelShape = { num_hidden_layers: 26, num_key_heads: 4, num_value_heads: 16, head_dim: 64 }; // sigma-1.5b
  const blockSizeTokens = 16;
  const pairBytes = (blockElements(shape, "k", blockSizeTokens) + blockElements(shape, "v", blockSizeTokens)) * 4;
  const numBlocks = Math.floor((config.totalMiB * MIB) / pairBytes);
  const source = heldBlocks(shape, blockSizeTokens, numBlocks);
  const target = heldBlocks(shape, blockSizeTokens, numBlocks);
  const ids = Array.from({ length: numBlocks }, (_, i) => i);
  for (const component of ["k", "v"] as KvComponent[]) {
    for (const id of ids) {
      const view = source.views[component][id]!;
      for (let i = 0; i < view.length; i += 97) view[i] = (id * 7919 + i) % 1000 / 1000;
    }
  }
  const payloadBytes = numBlocks * pairBytes;
  const frames: { component: KvComponent; bytes: Uint8Array; blocks: number[] }[] = [];
  // Frame buffers are allocated (and touched) once, outside the timed region: a sender reuses its buffers.
  for (const component of ["k", "v"] as KvComponent[]) {
    const frameShape = kvFrameShape(shape, component, blockSizeTokens);
    for (let first = 0; first < numBlocks; first += config.blocksPerFrame) {
      const blocks = ids.slice(first, first + config.blocksPerFrame);
      const elements = frameShape.layers * frameShape.heads * frameShape.blockSizeTokens * frameShape.headDim;
      const buffer = new Uint8Array(kvFrameByteLength(blocks.length, elements * (config.wireDtype === "f32" ? 4 : 2))).fill(1);
      frames.push({ component, bytes: buffer, blocks });
    }
  }
  const view = (held: ReturnType<typeof heldBlocks>, component: KvComponent, index: number) => held.views[component][index]!;

  const exportOnce = () => {
    for (const frame of frames) {
      encodeKvFrame(
        {
          component: frame.component,
          wireDtype: config.wireDtype,
          shape: kvFrameShape(shape, frame.component, blockSizeTokens),
          blocks: frame.blocks.map((id) => ({ hash: BigInt(id), data: view(source, frame.component, id) })),
        },
        { into: frame.bytes },
      );
    }
  };
  const importOnce = () => {
    let written = 0;
    for (const frame of frames) {
      const result = decodeKvFrameInto(frame.bytes, (index) => view(target, frame.component, frame.blocks[index]!));
      if (result.refused.length > 0) throw new Error(`import refused ${result.refused.length} blocks`);
      written += result.written.length;
    }
    if (written !== 2 * numBlocks) throw new Error(`imported ${written} of ${2 * numBlocks} block halves`);
  };
  const memcpyOnce = () => {
    for (const component of ["k", "v"] as KvComponent[]) for (const id of ids) view(target, component, id).set(view(source, component, id));
  };
  const best = (fn: () => void) => {
    let ms = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      fn();
      ms = Math.min(ms, performance.now() - start);
    }
    return ms;
  };
  const memcpyMs = best(memcpyOnce);
  const exportMs = best(exportOnce);
  const importMs = best(importOnce);
  // Verify the import is exact (f32) or rounded (f16) on a sample.
  const sample = view(target, "v", ids.length - 1);
  const original = view(source, "v", ids[ids.length - 1]!);
  const maxError = sample.reduce((max, value, i) => Math.max(max, Math.abs(value - original[i]!)), 0);
  if (config.wireDtype === "f32" && maxError !== 0) throw new Error(`f32 import differs by ${maxError}`);

  // Through the manager's door: what ExportKv / ImportKv run. Each import needs a cache that holds none of
  // the blocks, so each gets a fresh, empty manager, built (and its arenas touched) outside the timed region.
  const parents = new Map(source.hashes.map((hash, i) => [hash, i === 0 ? null : source.hashes[i - 1]!]));
  let exported = source.manager.exportBlocks(source.hashes, config.wireDtype);
  const doorExportMs = best(() => {
    exported = source.manager.exportBlocks(source.hashes, config.wireDtype);
  });
  if (exported.missing.length > 0) throw new Error(`export missed ${exported.missing.length} blocks`);
  let doorImportMs = Infinity;
  for (let i = 0; i < 3; i++) {
    const fresh = managerOf(shape, blockSizeTokens, numBlocks);
    const start = performance.now();
    const result = fresh.importBlocks(exported.frames, parents);
    doorImportMs = Math.min(doorImportMs, performance.now() - start);
    if (result.imported.length !== numBlocks) throw new Error(`door import took ${result.imported.length} of ${numBlocks} blocks`);
  }

  const gbps = (ms: number) => payloadBytes / 1e9 / (ms / 1000);
  return { numBlocks, payloadMiB: payloadBytes / MIB, memcpyGBps: gbps(memcpyMs), exportGBps: gbps(exportMs), importGBps: gbps(importMs), doorExportGBps: gbps(doorExportMs), doorImportGBps: gbps(doorImportMs), maxError };
}

export async function run(): Promise<BenchResult> {
  const churnConfig = { requests: 10_000, alive: 64, decodeSteps: 16 };
  const c = churn(churnConfig);
  const rows: Row[] = [
    {
      part: "churn",
      requests: churnConfig.requests,
      seconds: c.seconds,
      allocate: c.ops.allocate,
      append: c.ops.append,
      commit: c.ops.commit,
      free: c.ops.free,
      ops_per_s: Math.round(c.opsPerSecond),
      prefix_hit_rate: c.prefixHitRate,
    },
  ];
  const ratios: Record<string, number> = {};
  for (const wireDtype of ["f32", "f16"] as const) {
    const t = transfer({ totalMiB: 512, blocksPerFrame: 16, wireDtype });
    rows.push({
      part: `transfer ${wireDtype}`,
      blocks: t.numBlocks,
      payload_MiB: t.payloadMiB,
      memcpy_GBps: t.memcpyGBps,
      export_GBps: t.exportGBps,
      import_GBps: t.importGBps,
      door_export_GBps: t.doorExportGBps,
      door_import_GBps: t.doorImportGBps,
      max_abs_error: t.maxError,
    });
    ratios[`export_${wireDtype}_vs_memcpy`] = t.exportGBps / t.memcpyGBps;
    ratios[`import_${wireDtype}_vs_memcpy`] = t.importGBps / t.memcpyGBps;
    ratios[`door_export_${wireDtype}_vs_codec`] = t.doorExportGBps / t.exportGBps;
    ratios[`door_import_${wireDtype}_vs_codec`] = t.doorImportGBps / t.importGBps;
  }
  return { name: "kvcache", config: { churn: churnConfig, transfer: { totalMiB: 512, blocksPerFrame: 16, shape: "sigma-1.5b (26 layers, 4 K / 16 V heads, d 64)", blockSizeTokens: 16 } }, rows, ratios };
}
