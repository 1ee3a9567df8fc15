/**
 * The open question, measured: does the router's RSS grow with the
 * number of unique prompts it has seen (a leak), or plateau (bounded
 * caching)? `node --import tsx bench/soak/router-memory.ts [--phases 3]
 * [--prompts 2000] [--workers 2] [--kv-device-mib 256] [--prompt-chars 300]`
 * (from bench/).
 *
 * A cluster whose processes run with --heapsnapshot-signal; a baseline, then
 * `phases` rounds of `prompts` unique text prompts over HTTP. After each:
 * the router's RSS, a heap snapshot (which also runs a full GC), the RSS
 * after it, and the router's KV index size (/v1/cluster). Then the heap
 * groups that grew most, baseline → first round and first → last round.
 * `--snapshots false`: RSS only (sampled every second during each round);
 * a snapshot itself leaves the process ~100 MiB larger, so the RSS trend is
 * read from a run without them.
 */
import { mkdtemp, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { processMemory } from "../lib/process-memory.js";
import { Fleet, type FleetRouter } from "./fleet.js";
import { heapGrowth, summarizeHeapSnapshot, type HeapGroup } from "./heap-snapshot-summary.js";

const { values } = parseArgs({ options: { phases: { type: "string", default: "3" }, prompts: { type: "string", default: "2000" }, workers: { type: "string", default: "2" }, "kv-device-mib": { type: "string", default: "256" }, "prompt-chars": { type: "string", default: "300" }, concurrency: { type: "string", default: "8" }, snapshots: { type: "string", default: "true" } } });
/** false: RSS only. A heap snapshot costs the process ~100 MiB of RSS it keeps, so the RSS trend is measured without. */
const SNAPSHOTS = values.snapshots !== "false";
const PHASES = Number(values.phases);
const PROMPTS = Number(values.prompts);
const CHARS = Number(values["prompt-chars"]);
const MIB = 2 ** 20;
/** Idle time after the last round before the last measurement, ms. */
const IDLE_MS = 45_000;

const heapDir = await mkdtemp(join(tmpdir(), "router-heap-"));
if (SNAPSHOTS) process.env["BENCH_NODE_ARGS"] = `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}`;
const { fleet, router } = await Fleet.start(Number(values.workers), { workerFlags: ["--kv-device-mib", values["kv-device-mib"]!], routerFlags: ["--policy", "kv_aware"] });

let sent = 0;
async function prompts(count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < count) {
        const n = sent + next++;
        const text = `prompt ${n}: ` + Array.from({ length: CHARS }, (_, i) => String.fromCharCode(97 + ((n * 7919 + i * 31 + ((n * i) % 13)) % 26))).join("");
        const response = await fetch(`http://${router.httpAddress}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "sigma-tiny", prompt: text, max_tokens: 4, temperature: 0 }) });
        if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
  sent += count;
}

async function snapshot(target: FleetRouter): Promise<string> {
  const before = new Set(await readdir(heapDir));
  process.kill(target.pid, "SIGUSR2");
  for (;;) {
    await sleep(500);
    const fresh = (await readdir(heapDir)).filter((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
    if (fresh.length === 0) continue;
    const path = join(heapDir, fresh[0]!);
    const size = (await stat(path)).size;
    await sleep(1_000);
    if ((await stat(path)).size === size && size > 0) return path;
  }
}

interface Phase {
  phase: string;
  prompts: number;
  rssMib: number;
  rssAfterGcMib: number;
  anonAfterGcMib: number;
  heapMib: number;
  heapNodes: number;
  indexDistinctHashes: number;
  indexBlocks: number;
  groups: Map<string, HeapGroup>;
}

const phases: Phase[] = [];
async function measure(name: string): Promise<void> {
  const rss = processMemory(router.pid).rssBytes;
  const path = SNAPSHOTS ? await snapshot(router) : undefined;
  await sleep(2_000);
  const after = processMemory(router.pid);
  const summary = path === undefined ? { totalBytes: Number.NaN, nodes: 0, groups: new Map<string, HeapGroup>() } : await summarizeHeapSnapshot(path);
  const cluster = (await (await fetch(`http://${router.httpAddress}/v1/cluster`)).json()) as { index: { distinct_block_hashes: number; per_worker: { blocks: { k: { device: number; host: number } } }[] } };
  phases.push({
    phase: name,
    prompts: sent,
    rssMib: Number((rss / MIB).toFixed(1)),
    rssAfterGcMib: Number((after.rssBytes / MIB).toFixed(1)),
    anonAfterGcMib: Number((after.rssAnonBytes / MIB).toFixed(1)),
    heapMib: Number((summary.totalBytes / MIB).toFixed(1)),
    heapNodes: summary.nodes,
    indexDistinctHashes: cluster.index.distinct_block_hashes,
    indexBlocks: cluster.index.per_worker.reduce((sum, w) => sum + w.blocks.k.device + w.blocks.k.host, 0),
    groups: summary.groups,
  });
  const { groups: _, ...row } = phases.at(-1)!;
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

try {
  process.stdout.write(`router pid ${router.pid}, heap snapshots in ${heapDir}\n`);
  await prompts(20);
  await measure("baseline");
  for (let i = 1; i <= PHASES; i++) {
    const startMs = performance.now();
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(processMemory(router.pid).rssBytes / MIB), 1_000);
    await prompts(PROMPTS);
    clearInterval(sampler);
    const tail = rss.slice(-Math.max(1, Math.floor(rss.length / 4)));
    process.stdout.write(`round ${i}: ${PROMPTS} prompts in ${((performance.now() - startMs) / 1000).toFixed(0)} s; RSS during it: min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}, mean of the last quarter ${(tail.reduce((a, b) => a + b, 0) / tail.length).toFixed(1)} MiB\n`);
    await measure(`after round ${i}`);
  }
  const show = (title: string, a: Phase, b: Phase) => {
    process.stdout.write(`\nheap groups that grew most, ${title} (count, KiB):\n`);
    for (const g of heapGrowth(a.groups, b.groups, 18)) process.stdout.write(`  ${g.group.padEnd(60)} ${String(g.countBefore).padStart(8)} → ${String(g.countAfter).padStart(8)}   ${String(g.kibBefore).padStart(7)} → ${String(g.kibAfter).padStart(7)} KiB\n`);
  };
  // V8's memory reducer shrinks the heap of a process that went idle: what is left then is what is held.
  await sleep(IDLE_MS);
  await measure(`idle ${IDLE_MS / 1000} s`);
  if (SNAPSHOTS) show("baseline → round 1", phases[0]!, phases[1]!);
  if (SNAPSHOTS && phases.length > 2) show(`round 1 → round ${PHASES}`, phases[1]!, phases.at(-1)!);
} finally {
  await fleet.stop();
}
