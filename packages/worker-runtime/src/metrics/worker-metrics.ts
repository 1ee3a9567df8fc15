/**
 * A worker's Prometheus series, on one registry per worker.
 *
 * The standard model-server series carry vLLM's names, label (`model_name`)
 * and bucket boundaries, so KEDA triggers, the Gateway API inference
 * extension and vLLM's Grafana dashboards read a sigmaserve worker unchanged.
 * Where vLLM's meaning needs a choice for separate K and V pools, it is made
 * here: `vllm:kv_cache_usage_perc` is the fuller of the two device pools (the
 * one that stops admission), as a fraction 0–1 of blocks held by requests
 * (cached blocks nobody holds count as free, as vLLM counts them).
 *
 * Our own series are `sigmaserve_*`, with K and V always apart:
 * `sigmaserve_kv_blocks{component,tier,state}`, `sigmaserve_kv_usage_ratio`,
 * attention bytes read per component and tier (selective V reads part of V
 * from the host), V rows read and skipped by selective V, KV transfer bytes per component and direction, migration
 * pulls, and KV events published. Each component's element type is an info
 * series, `sigmaserve_kv_dtype_info{component,dtype} 1`, not a `dtype` label
 * on the KV series: it is fixed for the process's life, an info series is
 * how Prometheus carries such constants (like `*_build_info`, joined in with
 * `* on(component) group_left(dtype)` where a query wants it), and the
 * existing series keep their label sets, so dashboards and recording rules
 * that aggregate them by component and tier do not change.
 *
 * Gauges and totals that the runtime already keeps are read at scrape time
 * (collect callbacks); per-request series are observed through `track()`,
 * which wraps a request's sink.
 */
import type { KvComponent, KvTier } from "@sigmaserve/kvcache";
import { Counter, Gauge, Histogram, INTER_TOKEN_LATENCY_BUCKETS_S, processRegistry, REQUEST_LATENCY_BUCKETS_S, TTFT_BUCKETS_S, tokenCountBuckets } from "@sigmaserve/telemetry";
import type { FinishReason, RequestFinish, RequestSink, TokenChunk } from "../scheduler/engine-request.js";
import type { KvTransferMeter } from "./kv-transfer-meter.js";

/** What the metrics read from the running worker at scrape time. */
export interface WorkerMetricsSources {
  modelName: string;
  maxContextTokens: number;
  blockSizeTokens: number;
  scheduler: () => { running: number; waiting: number; preemptionsTotal: number };
  attentionReadBytes: () => { k: number; vDevice: number; vHost: number; vFullAttention: number };
  /** Bytes of one V row of one head (head_dim × V's element width: 4 for f32, 2 for bf16/f16): turns V bytes into rows. */
  vRowBytes: number;
  kvUsage: () => readonly { component: KvComponent; tier: KvTier; usedBlocks: number; cachedFreeBlocks: number; totalBlocks: number }[];
  /** Wall milliseconds of the step loop by phase since start (Scheduler.stepPhaseMs); default: not reported. */
  stepPhaseMs?: () => Readonly<Record<string, number>>;
  /** KV events this worker has published (the event log's last sequence number). */
  kvEventsPublished: () => number;
  /** Cached blocks that gave up room because their tenant was at its cap (--tenant-max-cached-fraction); default: none. */
  kvTenantCapEvictions?: () => number;
  /** The element type each component's pools store (--kv-dtype); default: not reported. */
  kvDtypes?: Readonly<Record<KvComponent, string>>;
  /** Imported blocks converted from a peer's dtype to ours, per component, since start (KvCacheManager.importDtypeConversions); default: none. */
  kvImportDtypeConversions?: () => Readonly<Record<KvComponent, number>>;
}

/** vLLM's finished_reason values: a cancelled request is an abort. */
const FINISHED_REASON: Record<Exclude<FinishReason, "handover">, string> = { stop: "stop", length: "length", cancelled: "abort", error: "error" };

/** Metric label of each step phase (Prometheus labels are snake_case). */
const PHASE_LABEL: Readonly<Record<string, string>> = { kvWrite: "kv_write" };

export class WorkerMetrics implements KvTransferMeter {
  /** This process's series and prom-client's default process series (memory, CPU, heap, event loop). */
  readonly registry = processRegistry();
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly e2e: Histogram;
  private readonly queueTime: Histogram;
  private readonly prefillTime: Histogram;
  private readonly decodeTime: Histogram;
  private readonly promptTokensHistogram: Histogram;
  private readonly generationTokensHistogram: Histogram;
  private readonly promptTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly prefixQueries: Counter;
  private readonly prefixHits: Counter;
  private readonly success: Counter;
  private readonly transferBytes: Counter;
  private readonly pulls: Counter;
  private readonly pullBlocks: Counter;
  private readonly pullSeconds: Histogram;
  private readonly model: { model_name: string };

  constructor(private readonly sources: WorkerMetricsSources) {
    const registers = [this.registry];
    this.model = { model_name: sources.modelName };
    const model = this.model;
    const modelLabel = ["model_name"] as const;

    // ---- vLLM-compatible ----
    new Gauge({
      name: "vllm:num_requests_running",
      help: "Number of requests in model execution batches.",
      labelNames: modelLabel,
      registers,
      collect() {
        this.set(model, sources.scheduler().running);
      },
    });
    new Gauge({
      name: "vllm:num_requests_waiting",
      help: "Number of requests waiting to be processed.",
      labelNames: modelLabel,
      registers,
      collect() {
        this.set(model, sources.scheduler().waiting);
      },
    });
    new Gauge({
      name: "vllm:kv_cache_usage_perc",
      help: "KV-cache usage. 1 means 100 percent usage (the fuller of the K and V device pools).",
      labelNames: modelLabel,
      registers,
      collect() {
        const device = sources.kvUsage().filter((u) => u.tier === "device");
        this.set(model, Math.max(0, ...device.map((u) => (u.totalBlocks === 0 ? 0 : u.usedBlocks / u.totalBlocks))));
      },
    });
    let preemptionsSeen = 0;
    new Counter({
      name: "vllm:num_preemptions_total",
      help: "Cumulative number of preemptions from the engine.",
      labelNames: modelLabel,
      registers,
      collect() {
        // inc by 0 too: a labelled counter shows no sample until it is touched.
        const total = sources.scheduler().preemptionsTotal;
        this.inc(model, Math.max(0, total - preemptionsSeen));
        preemptionsSeen = Math.max(preemptionsSeen, total);
      },
    });
    const cacheConfig = new Gauge({ name: "vllm:cache_config_info", help: "Information of the KV cache config.", labelNames: ["model_name", "block_size", "num_gpu_blocks", "num_cpu_blocks"], registers });
    const blocksOf = (tier: KvTier) => Math.min(...sources.kvUsage().filter((u) => u.tier === tier).map((u) => u.totalBlocks));
    cacheConfig.set({ ...model, block_size: String(sources.blockSizeTokens), num_gpu_blocks: String(blocksOf("device")), num_cpu_blocks: String(Number.isFinite(blocksOf("host")) ? blocksOf("host") : 0) }, 1);

    this.promptTokens = new Counter({ name: "vllm:prompt_tokens_total", help: "Number of prefill tokens processed.", labelNames: modelLabel, registers });
    this.generationTokens = new Counter({ name: "vllm:generation_tokens_total", help: "Number of generation tokens processed.", labelNames: modelLabel, registers });
    this.prefixQueries = new Counter({ name: "vllm:prefix_cache_queries_total", help: "Prefix cache queries, in terms of number of queried tokens.", labelNames: modelLabel, registers });
    this.prefixHits = new Counter({ name: "vllm:prefix_cache_hits_total", help: "Prefix cache hits, in terms of number of cached tokens.", labelNames: modelLabel, registers });
    this.success = new Counter({ name: "vllm:request_success_total", help: "Count of successfully processed requests.", labelNames: ["model_name", "finished_reason"], registers });
    const seconds = (name: string, help: string, buckets: readonly number[]) => new Histogram({ name, help, labelNames: modelLabel, buckets: [...buckets], registers });
    this.ttft = seconds("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TTFT_BUCKETS_S);
    this.itl = seconds("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", INTER_TOKEN_LATENCY_BUCKETS_S);
    this.e2e = seconds("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", REQUEST_LATENCY_BUCKETS_S);
    this.queueTime = seconds("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", REQUEST_LATENCY_BUCKETS_S);
    this.prefillTime = seconds("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", REQUEST_LATENCY_BUCKETS_S);
    this.decodeTime = seconds("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", REQUEST_LATENCY_BUCKETS_S);
    const tokenBuckets = tokenCountBuckets(sources.maxContextTokens);
    this.promptTokensHistogram = new Histogram({ name: "vllm:request_prompt_tokens", help: "Number of prefill tokens processed.", labelNames: modelLabel, buckets: tokenBuckets, registers });
    this.generationTokensHistogram = new Histogram({ name: "vllm:request_generation_tokens", help: "Number of generation tokens processed.", labelNames: modelLabel, buckets: tokenBuckets, registers });

    // ---- sigmaserve: K and V apart ----
    const kvLabels = ["model_name", "component", "tier"] as const;
    new Gauge({
      name: "sigmaserve_kv_blocks",
      help: "KV blocks per component (k|v) and tier (device|host): used = held by requests, cached = free but reusable by prefix, free = empty.",
      labelNames: [...kvLabels, "state"],
      registers,
      collect() {
        for (const u of sources.kvUsage()) {
          const labels = { ...model, component: u.component, tier: u.tier };
          this.set({ ...labels, state: "used" }, u.usedBlocks);
          this.set({ ...labels, state: "cached" }, u.cachedFreeBlocks);
          this.set({ ...labels, state: "free" }, u.totalBlocks - u.usedBlocks - u.cachedFreeBlocks);
        }
      },
    });
    new Gauge({
      name: "sigmaserve_kv_usage_ratio",
      help: "Fraction (0-1) of a component's blocks on a tier that requests hold.",
      labelNames: kvLabels,
      registers,
      collect() {
        for (const u of sources.kvUsage()) this.set({ ...model, component: u.component, tier: u.tier }, u.totalBlocks === 0 ? 0 : u.usedBlocks / u.totalBlocks);
      },
    });
    const readSeen = { k: 0, vDevice: 0, vHost: 0 };
    new Counter({
      name: "sigmaserve_attention_read_bytes_total",
      help: "Bytes the attention kernel read, per component and tier (selective V reads its top-k V rows, part of them from the host).",
      labelNames: kvLabels,
      registers,
      collect() {
        const now = sources.attentionReadBytes();
        const add = (key: keyof typeof readSeen, component: KvComponent, tier: KvTier) => {
          this.inc({ ...model, component, tier }, Math.max(0, now[key] - readSeen[key]));
          readSeen[key] = Math.max(readSeen[key], now[key]);
        };
        add("k", "k", "device");
        add("vDevice", "v", "device");
        add("vHost", "v", "host");
      },
    });
    const phaseSeen = new Map<string, number>();
    new Counter({
      name: "sigmaserve_engine_step_phase_seconds_total",
      help: "Wall seconds of the engine's step loop by phase: schedule, dense (ORT stages), attention, kv_write, sample (sampling and handing chunks to streams), io (the event-loop turn between steps).",
      labelNames: ["model_name", "phase"],
      registers,
      collect() {
        for (const [phase, ms] of Object.entries(sources.stepPhaseMs?.() ?? {})) {
          const seen = phaseSeen.get(phase) ?? 0;
          this.inc({ ...model, phase: PHASE_LABEL[phase] ?? phase }, Math.max(0, ms - seen) / 1000);
          phaseSeen.set(phase, Math.max(seen, ms));
        }
      },
    });
    const rowsSeen = { read: 0, skipped: 0 };
    new Counter({
      name: "sigmaserve_selective_v_rows_total",
      help: "V rows (one position of one head) the attention kernel read, and the ones selective V skipped against full attention; skipped stays 0 in full attention.",
      labelNames: ["model_name", "outcome"],
      registers,
      collect() {
        const bytes = sources.attentionReadBytes();
        const read = (bytes.vDevice + bytes.vHost) / sources.vRowBytes;
        const skipped = Math.max(0, bytes.vFullAttention - bytes.vDevice - bytes.vHost) / sources.vRowBytes;
        this.inc({ ...model, outcome: "read" }, Math.max(0, read - rowsSeen.read));
        this.inc({ ...model, outcome: "skipped" }, Math.max(0, skipped - rowsSeen.skipped));
        rowsSeen.read = Math.max(rowsSeen.read, read);
        rowsSeen.skipped = Math.max(rowsSeen.skipped, skipped);
      },
    });
    this.transferBytes = new Counter({ name: "sigmaserve_kv_transfer_bytes_total", help: "KV payload bytes moved between workers (migration, ImportKv, ExportKv), per component and direction (in|out).", labelNames: ["model_name", "component", "direction"], registers });
    this.pulls = new Counter({ name: "sigmaserve_migration_pulls_total", help: "Migration pulls this worker made as a target, by outcome (completed|failed).", labelNames: ["model_name", "outcome"], registers });
    this.pullBlocks = new Counter({ name: "sigmaserve_migration_blocks_total", help: "Blocks of migration pulls, by outcome (imported|refused: a bad checksum, a block not offered, one half missing).", labelNames: ["model_name", "outcome"], registers });
    this.pullSeconds = new Histogram({ name: "sigmaserve_migration_pull_seconds", help: "Duration of migration pulls in seconds (ExportKv call to the last frame imported).", labelNames: modelLabel, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
    let eventsSeen = 0;
    new Counter({
      name: "sigmaserve_kv_events_published_total",
      help: "KV events (stored, removed, moved, cleared) this worker has published.",
      labelNames: modelLabel,
      registers,
      collect() {
        const total = sources.kvEventsPublished();
        this.inc(model, Math.max(0, total - eventsSeen));
        eventsSeen = Math.max(eventsSeen, total);
      },
    });
    const dtypeInfo = new Gauge({ name: "sigmaserve_kv_dtype_info", help: "Element type (f32|bf16|f16) of each component's KV pools (device and host share it); always 1.", labelNames: ["model_name", "component", "dtype"], registers });
    for (const [component, dtype] of Object.entries(sources.kvDtypes ?? {})) dtypeInfo.set({ ...model, component, dtype }, 1);
    const conversionsSeen: Record<KvComponent, number> = { k: 0, v: 0 };
    new Counter({
      name: "sigmaserve_kv_import_dtype_conversions_total",
      help: "Imported KV blocks (migration, ImportKv, the remote tier) whose component arrived in another element type than this worker's pool stores and was converted, per component.",
      labelNames: ["model_name", "component"],
      registers,
      collect() {
        const now = sources.kvImportDtypeConversions?.() ?? conversionsSeen;
        for (const component of ["k", "v"] as const) {
          this.inc({ ...model, component }, Math.max(0, now[component] - conversionsSeen[component]));
          conversionsSeen[component] = Math.max(conversionsSeen[component], now[component]);
        }
      },
    });
    let capEvictionsSeen = 0;
    new Counter({
      name: "sigmaserve_kv_tenant_cap_evictions_total",
      help: "Cached KV blocks demoted or dropped because their tenant (cache salt) held its cap of cached blocks (--tenant-max-cached-fraction), instead of the least recently used block.",
      labelNames: modelLabel,
      registers,
      collect() {
        const total = sources.kvTenantCapEvictions?.() ?? 0;
        this.inc(model, Math.max(0, total - capEvictionsSeen));
        capEvictionsSeen = Math.max(capEvictionsSeen, total);
      },
    });
  }

  /** A sink that observes the request's latencies and counts on the way to `sink`. */
  track(sink: RequestSink, arrivedAtMs: number): RequestSink {
    let lastChunkMs: number | undefined;
    return {
      onChunk: (chunk: TokenChunk) => {
        const now = Date.now();
        if (chunk.tokenIds.length > 0) {
          if (lastChunkMs === undefined) this.ttft.observe(this.model, Math.max(0, now - arrivedAtMs) / 1000);
          else this.itl.observe(this.model, (now - lastChunkMs) / 1000 / chunk.tokenIds.length);
          lastChunkMs = now;
        }
        sink.onChunk(chunk);
      },
      onFinish: (finish: RequestFinish) => {
        this.observeFinish(finish);
        sink.onFinish(finish);
      },
      onProgress: (progress) => sink.onProgress?.(progress),
    };
  }

  received(component: KvComponent, bytes: number): void {
    this.transferBytes.inc({ ...this.model, component, direction: "in" }, bytes);
  }

  sent(component: KvComponent, bytes: number): void {
    this.transferBytes.inc({ ...this.model, component, direction: "out" }, bytes);
  }

  pullEnded(seconds: number, completed: boolean, blocks: { imported: number; refused: number }): void {
    this.pulls.inc({ ...this.model, outcome: completed ? "completed" : "failed" });
    if (blocks.imported > 0) this.pullBlocks.inc({ ...this.model, outcome: "imported" }, blocks.imported);
    if (blocks.refused > 0) this.pullBlocks.inc({ ...this.model, outcome: "refused" }, blocks.refused);
    this.pullSeconds.observe(this.model, seconds);
  }

  private observeFinish(finish: RequestFinish): void {
    // A handed-over request goes on elsewhere: it has not finished, and the worker that finishes it counts it.
    if (finish.reason === "handover") return;
    const { usage, timings } = finish;
    this.success.inc({ ...this.model, finished_reason: FINISHED_REASON[finish.reason] });
    this.promptTokens.inc(this.model, usage.promptTokens);
    this.generationTokens.inc(this.model, usage.completionTokens);
    this.prefixQueries.inc(this.model, usage.promptTokens);
    this.prefixHits.inc(this.model, usage.cachedPromptTokens);
    this.promptTokensHistogram.observe(this.model, usage.promptTokens);
    this.generationTokensHistogram.observe(this.model, usage.completionTokens);
    this.e2e.observe(this.model, timings.e2eMs / 1000);
    this.queueTime.observe(this.model, timings.queueMs / 1000);
    if (usage.completionTokens > 0) {
      this.prefillTime.observe(this.model, Math.max(0, timings.ttftMs - timings.queueMs) / 1000);
      this.decodeTime.observe(this.model, Math.max(0, timings.e2eMs - timings.ttftMs) / 1000);
    }
  }
}
