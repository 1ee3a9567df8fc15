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
 *    the figures are DRAM-bound.
 */
import {
  BlockPool,
  KvCacheManager,
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
  const problems = manager.pool.checkInvariants();
  if (problems.length > 0) throw new Error(`churn broke invariants: ${problems.join("; ")}`);
  const total = ops.allocate + ops.append + ops.commit + ops.free;
  return { seconds, ops, total, opsPerSecond: total / seconds, prefixHitRate: cachedTokens / promptTokens };
}

function transfer(config: { totalMiB: number; blocksPerFrame: number; wireDtype: "f32" | "f16" }) {
  const shape: KvModelShape = { num_hidden_layers: 26, num_key_heads: 4, num_value_heads: 16, head_dim: 64 }; // sigma-1.5b
  const blockSizeTokens = 16;
  const probe = new BlockPool({ shape, blockSizeTokens, bytes: { k: { device: 1e9, host: 0 }, v: { device: 1e9, host: 0 } } });
  const pairBytes = probe.blockBytes.k + probe.blockBytes.v;
  const numBlocks = Math.floor((config.totalMiB * MIB) / pairBytes);
  const bytes = { k: { device: numBlocks * probe.blockBytes.k, host: 0 }, v: { device: numBlocks * probe.blockBytes.v, host: 0 } };
  const source = new BlockPool({ shape, blockSizeTokens, bytes });
  const target = new BlockPool({ shape, blockSizeTokens, bytes });
  const ids = Array.from({ length: numBlocks }, () => source.allocate()!);
  const targetIds = Array.from({ length: numBlocks }, () => target.allocate()!);
  for (const component of ["k", "v"] as KvComponent[]) {
    for (const id of ids) {
      const view = source.storageOf(component, "device")!.view!(source.residency(id, component)!.slot);
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
  const view = (pool: BlockPool, component: KvComponent, id: number) => pool.storageOf(component, "device")!.view!(pool.residency(id, component)!.slot);

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
      const result = decodeKvFrameInto(frame.bytes, (index) => view(target, frame.component, targetIds[frame.blocks[index]!]!));
      if (result.refused.length > 0) throw new Error(`import refused ${result.refused.length} blocks`);
      written += result.written.length;
    }
    if (written !== 2 * numBlocks) throw new Error(`imported ${written} of ${2 * numBlocks} block halves`);
  };
  const memcpyOnce = () => {
    for (const component of ["k", "v"] as KvComponent[]) for (const id of ids) view(target, component, targetIds[id]!).set(view(source, component, id));
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
  const sample = view(target, "v", targetIds[ids.length - 1]!);
  const original = view(source, "v", ids[ids.length - 1]!);
  const maxError = sample.reduce((max, value, i) => Math.max(max, Math.abs(value - original[i]!)), 0);
  if (config.wireDtype === "f32" && maxError !== 0) throw new Error(`f32 import differs by ${maxError}`);
  const gbps = (ms: number) => payloadBytes / 1e9 / (ms / 1000);
  return { numBlocks, payloadMiB: payloadBytes / MIB, memcpyGBps: gbps(memcpyMs), exportGBps: gbps(exportMs), importGBps: gbps(importMs), maxError };
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
      max_abs_error: t.maxError,
    });
    ratios[`export_${wireDtype}_vs_memcpy`] = t.exportGBps / t.memcpyGBps;
    ratios[`import_${wireDtype}_vs_memcpy`] = t.importGBps / t.memcpyGBps;
  }
  return { name: "kvcache", config: { churn: churnConfig, transfer: { totalMiB: 512, blocksPerFrame: 16, shape: "sigma-1.5b (26 layers, 4 K / 16 V heads, d 64)", blockSizeTokens: 16 } }, rows, ratios };
}
