/**
 * A running worker: model, ORT dense stages, KV cache, attention kernel,
 * runner, scheduler and the gRPC server, wired together from a WorkerConfig.
 * `startWorker` resolves once the server listens and health says SERVING;
 * `stop` drains (within a grace), then shuts the server and releases ORT.
 */
import { create } from "@bufbuild/protobuf";
import { ModelRunner, createAttentionKernel } from "@sigmaserve/engine";
import { KV_DTYPE_BYTES, KvCacheManager, SELECTIVE_V_DEVICE_V_SHARE, describeHashSpec, KvEventLog, randomKvEpoch, type PoolBytes } from "@sigmaserve/kvcache";
import { eosTokenIds } from "@sigmaserve/model/config";
import { OrtDenseModel } from "@sigmaserve/model/runtime";
import { demoModel, loadModelDir, type LoadedModel } from "@sigmaserve/model/weights";
import { addHealthService, addReflectionService, bindService, coordv1, grpcServiceDefinition, messageSizeOptions, startHealthServer, workerv1, type HealthServer } from "@sigmaserve/proto";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { connectNatsCoordBus, kvComponentToProto, kvDtypeToProto, natsSecurityOptionsOf, kvTierToProto, type CoordBus } from "@sigmaserve/coord";
import { kvDtypesOf, type WorkerConfig } from "./config/worker-config.js";
import { openWorkerTls } from "./config/worker-tls.js";
import { joinBus, type BusMembership } from "./coord/join-bus.js";
import { toGrpcStatus } from "./grpc/to-grpc-status.js";
import { workerServiceImpl } from "./grpc/worker-service.js";
import { readTokenizerFiles, type TokenizerFiles } from "./grpc/get-tokenizer.js";
import { WorkerConfigError } from "./errors.js";
import { HandoverBoard } from "./migration/handover-board.js";
import { DEFAULT_DRAIN_HOT_BLOCKS } from "./migration/migrate-away.js";
import { RemoteTier } from "./migration/remote-tier.js";
import { WorkerMigration, type WorkerMigrationDeps } from "./migration/worker-migration.js";
import { WorkerMetrics } from "./metrics/worker-metrics.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { startMetricsServer, type MetricsServer } from "@sigmaserve/telemetry";

const MIB = 2 ** 20;
const ROLES = { both: coordv1.WorkerRole.BOTH, prefill: coordv1.WorkerRole.PREFILL, decode: coordv1.WorkerRole.DECODE } as const;
export const WORKER_VERSION = "0.1.0";

export interface WorkerRuntime {
  readonly config: WorkerConfig;
  readonly model: LoadedModel;
  /** The tokenizer files GetTokenizer serves, read at start-up. */
  readonly tokenizerFiles: TokenizerFiles;
  readonly kv: KvCacheManager;
  readonly eventLog: KvEventLog;
  readonly scheduler: Scheduler;
  /** Hooks for failure tests (see StartWorkerOptions); empty in production. */
  readonly hooks: Pick<StartWorkerOptions, "onExportFrame">;
  /** The shared remote tier (--remote-tier with a bus); undefined otherwise. */
  readonly remoteTier: RemoteTier | undefined;
  /** Where handed-over requests went (a drain with migration); their streams wait on it. */
  readonly handovers: HandoverBoard;
  /** Offers, leases and pulls of KV migration; undefined without a coordination bus (nothing to offer over). */
  readonly migration: WorkerMigration | undefined;
  /** host:port the server listens on. */
  readonly address: string;
  /** The worker's Prometheus series (served on /metrics with --metrics-port). */
  readonly metrics: WorkerMetrics;
  /** host:port of the /metrics server; undefined without --metrics-port. */
  readonly metricsAddress: string | undefined;
  /** host:port of the plaintext health-only server (--health-port); undefined without it. */
  readonly healthAddress: string | undefined;
  workerInfo(): coordv1.WorkerInfo;
  workerLoad(): coordv1.WorkerLoad;
  /**
   * Stops admitting and leaves the routable set at once. Then, with
   * `migrate` (and peers on the bus), hands every request over with its KV
   * and offers the hot prefix chains to peers; otherwise waits for running
   * requests (cancelling them after graceMs > 0).
   */
  drain(graceMs: number, options?: { migrate?: boolean }): Promise<void>;
  stop(options?: { graceMs?: number; migrate?: boolean }): Promise<void>;
  /**
   * Stops at once, as a crash looks to peers: every call in flight is cut
   * (UNAVAILABLE / CANCELLED on the other side), standing migration offers
   * end, nothing drains. For tests of failure handling and for fatal errors.
   */
  kill(): Promise<void>;
}

/**
 * How the KV byte budget is split. Full mode: the device holds K and V of
 * every block, split n_k·width_k : n_v·width_v (each component's heads times
 * its dtype's bytes per element) so both pools hold the same number of
 * blocks; the host likewise. Selective-V mode (top-k > 0 with host memory): the device
 * is split by SELECTIVE_V_DEVICE_V_SHARE (evenly), so it holds K for many more blocks than V, and the host
 * holds only V, where old V rows live and are read selectively.
 */
export function poolBytes(config: WorkerConfig, model: LoadedModel): PoolBytes {
  const { num_key_heads: nK, num_value_heads: nV } = model.config;
  const device = config.kvDeviceMib * MIB;
  const host = config.kvHostMib * MIB;
  // The device share V keeps in selective-V mode is the planner's own constant, so `kv plan` predicts what this admits.
  if (config.selectiveVTopk > 0 && host > 0) return { k: { device: device * (1 - SELECTIVE_V_DEVICE_V_SHARE), host: 0 }, v: { device: device * SELECTIVE_V_DEVICE_V_SHARE, host } };
  const dtype = kvDtypesOf(config);
  const kShare = (nK * KV_DTYPE_BYTES[dtype.k]) / (nK * KV_DTYPE_BYTES[dtype.k] + nV * KV_DTYPE_BYTES[dtype.v]);
  return { k: { device: device * kShare, host: host * kShare }, v: { device: device * (1 - kShare), host: host * (1 - kShare) } };
}

export interface StartWorkerOptions {
  /** A bus to join instead of connecting to --nats (the single-process memory bus). */
  bus?: CoordBus;
  /** Test hook: sees (and may damage) each migrated frame as it arrives, before it is verified. */
  onMigrationFrame?: WorkerMigrationDeps["onFrameReceived"];
  /** Test hook: runs before ExportKv sends each frame (a test kills the source between K and V here). */
  onExportFrame?: (frame: { component: "k" | "v"; blocks: number }) => void;
}

export async function startWorker(config: WorkerConfig, logger: Logger, options: StartWorkerOptions = {}): Promise<WorkerRuntime> {
  // Before anything is started: nothing to stop on the way out.
  if (config.remoteTier && options.bus === undefined && config.nats === undefined) throw new WorkerConfigError("--remote-tier: needs --nats URL (the remote tier is a JetStream object store on it)");
  // TLS files that cannot be used stop the worker here, before the model loads and anything listens (fail closed).
  const tls = openWorkerTls(config, logger);
  const loaded = "preset" in config.modelSource ? demoModel(config.modelSource.preset, config.seed) : await loadModelDir(config.modelSource.dir);
  // --served-model-name: the id clients use, in place of the preset or directory name.
  const model: LoadedModel = config.servedModelName === undefined ? loaded : { ...loaded, id: config.servedModelName };
  const tokenizerFiles = await readTokenizerFiles(config.modelSource, model.tokenizer);
  const dense = await OrtDenseModel.create(model.config, model.weights, { intraOpThreads: config.intraOpThreads });
  const eventLog = new KvEventLog({ workerId: config.workerId, epoch: randomKvEpoch() });
  const selective = config.selectiveVTopk > 0 && config.kvHostMib > 0;
  const kv = new KvCacheManager({
    shape: model.config,
    blockSizeTokens: config.blockSize,
    modelId: model.id,
    bytes: poolBytes(config, model),
    // --kv-dtype (bf16 by default): the pools store 16-bit patterns, so the same bytes hold twice the blocks of f32.
    dtype: kvDtypesOf(config),
    mode: selective ? "selective-v" : "full",
    eventLog,
    maxCachedFractionPerTenant: config.tenantMaxCachedFraction,
  });
  const kernel = createAttentionKernel({ log: (message) => logger.warn(message) });
  const runner = new ModelRunner({ config: model.config, dense, kv, kernel, selectiveVTopk: config.selectiveVTopk });
  const scheduler = new Scheduler({
    kv,
    runner,
    tokenizer: model.tokenizer,
    eosTokenIds: eosTokenIds(model.config),
    maxBatchTokens: config.maxBatchTokens,
    maxNumSeqs: config.maxNumSeqs,
    onStepError: (err) => logger.error({ err }, "engine step failed"),
  });
  const startedAtMs = Date.now();
  /** How this worker's block hashes are made: published in its WorkerInfo, checked in migration offers. */
  const kvHash = describeHashSpec({ blockSizeTokens: config.blockSize });
  let state = coordv1.WorkerState.STARTING;
  let draining: Promise<void> = Promise.resolve();
  let publishTimer: NodeJS.Timeout | undefined;

  const server = new Server(messageSizeOptions(config.maxMessageMib * MIB));
  const health = addHealthService(server, [workerv1.WorkerService]);
  const metrics = new WorkerMetrics({
    modelName: model.id,
    maxContextTokens: model.config.max_position_embeddings,
    blockSizeTokens: config.blockSize,
    scheduler: () => scheduler.stats(),
    attentionReadBytes: () => scheduler.attentionReadBytes,
    stepPhaseMs: () => scheduler.stepPhaseMs,
    vRowBytes: model.config.head_dim * KV_DTYPE_BYTES[kv.dtype.v],
    kvDtypes: kv.dtype,
    kvImportDtypeConversions: () => kv.importDtypeConversions,
    kvUsage: () => kv.usage(),
    kvEventsPublished: () => eventLog.lastTakenSeq,
    kvTenantCapEvictions: () => kv.tenantCapEvictions,
  });
  let metricsServer: MetricsServer | undefined;
  let healthServer: HealthServer | undefined;
  const runtime: WorkerRuntime = {
    config,
    model,
    tokenizerFiles,
    kv,
    eventLog,
    scheduler,
    hooks: options.onExportFrame === undefined ? {} : { onExportFrame: options.onExportFrame },
    handovers: new HandoverBoard(),
    remoteTier: undefined,
    migration: undefined,
    address: "",
    metrics,
    metricsAddress: undefined,
    healthAddress: undefined,
    workerInfo: () =>
      create(coordv1.WorkerInfoSchema, {
        workerId: config.workerId,
        epoch: eventLog.epoch,
        grpcAddress: runtime.address,
        model: {
          id: model.id,
          numLayers: model.config.num_hidden_layers,
          hiddenSize: model.config.hidden_size,
          numQueryHeads: model.config.num_attention_heads,
          numKeyHeads: model.config.num_key_heads,
          numValueHeads: model.config.num_value_heads,
          headDim: model.config.head_dim,
          augQSize: model.config.aug_q_size,
          vocabSize: model.config.vocab_size,
          maxContextTokens: model.config.max_position_embeddings,
          tokenizer: model.tokenizer.kind,
        },
        kvHash,
        // K's type; each pool's own (V's may differ) travels in its capacity entry.
        kvDtype: kvDtypeToProto(kv.dtype.k),
        kvCapacity: kv.usage().map((u) => ({
          component: kvComponentToProto(u.component),
          tier: kvTierToProto(u.tier),
          numBlocks: u.totalBlocks,
          blockBytes: BigInt(kv.blockBytes[u.component]),
          dtype: kvDtypeToProto(kv.dtype[u.component]),
        })),
        selectiveVTopk: config.selectiveVTopk,
        maxBatchTokens: config.maxBatchTokens,
        version: WORKER_VERSION,
        startedAtUnixMs: BigInt(startedAtMs),
        role: ROLES[config.role],
        tokenizerSha256: tokenizerFiles.sha256,
      }),
    workerLoad: () => {
      const stats = scheduler.stats();
      return create(coordv1.WorkerLoadSchema, {
        workerId: config.workerId,
        epoch: eventLog.epoch,
        state,
        runningRequests: stats.running,
        waitingRequests: stats.waiting,
        kvUsage: kv.usage().map((u) => ({
          component: kvComponentToProto(u.component),
          tier: kvTierToProto(u.tier),
          usedBlocks: u.usedBlocks,
          cachedFreeBlocks: u.cachedFreeBlocks,
          totalBlocks: u.totalBlocks,
        })),
        lastKvEventSeq: BigInt(eventLog.lastTakenSeq),
        preemptionsTotal: BigInt(stats.preemptionsTotal),
        measuredAtUnixMs: BigInt(Date.now()),
        prefillTokensPerS: stats.prefillTokensPerS,
        migrationBytesPerS: runtime.migration?.target.bandwidth.value ?? 0,
      });
    },
    drain: async (graceMs, drainOptions = {}) => {
      if (state === coordv1.WorkerState.DRAINED) return;
      if (state === coordv1.WorkerState.DRAINING) return draining;
      state = coordv1.WorkerState.DRAINING;
      health.setAll("NOT_SERVING");
      const drained = scheduler.drain();
      // The router learns it from this heartbeat rather than the next one.
      void membership?.announce();
      draining = (async () => {
        if (drainOptions.migrate === true && runtime.migration !== undefined) await runtime.migration.migrateAway(scheduler, runtime.handovers);
        // What this worker cached outlives it in the remote tier.
        await runtime.remoteTier?.publishHot().catch((err: unknown) => logger.warn({ err: (err as Error).message }, "remote tier: hot prefixes not written at drain"));
        if (graceMs > 0) {
          const timer = setTimeout(() => scheduler.cancelAll(), graceMs);
          await drained;
          clearTimeout(timer);
        } else await drained;
        state = coordv1.WorkerState.DRAINED;
        void membership?.announce();
      })();
      return draining;
    },
    stop: async (stopOptions = {}) => {
      await runtime.drain(stopOptions.graceMs ?? 0, { migrate: stopOptions.migrate ?? false });
      clearInterval(publishTimer);
      await runtime.migration?.close();
      await membership?.stop();
      if (ownsBus) await bus?.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      healthServer?.close();
      await metricsServer?.close();
      tls?.close();
      await dense.release();
    },
    kill: async () => {
      clearInterval(publishTimer);
      server.forceShutdown();
      health.setAll("NOT_SERVING");
      healthServer?.close();
      scheduler.cancelAll();
      runtime.migration?.leases.close();
      await membership?.stop();
      if (ownsBus) await bus?.close();
      await metricsServer?.close();
      tls?.close();
      // The step in flight finishes before ORT is released under it.
      await scheduler.drain();
      await dense.release();
    },
  };

  server.addService(grpcServiceDefinition(workerv1.WorkerService), bindService(workerv1.WorkerService, workerServiceImpl(runtime), { toStatus: toGrpcStatus }));
  addReflectionService(server, [workerv1.WorkerService]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.host}:${config.port}`, tls?.server ?? ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  (runtime as { address: string }).address = config.advertise ?? `${config.host}:${port}`;
  if (config.healthPort !== undefined) {
    // The same health service, plaintext and alone, for probes that cannot speak mutual TLS (NOT_SERVING until ready).
    healthServer = await startHealthServer(health, { host: config.host, port: config.healthPort });
    (runtime as { healthAddress: string }).healthAddress = healthServer.address;
  }
  if (config.metricsPort !== undefined) {
    metricsServer = await startMetricsServer(metrics.registry, { host: config.metricsHost ?? config.host, port: config.metricsPort });
    (runtime as { metricsAddress: string }).metricsAddress = metricsServer.address;
  }
  state = coordv1.WorkerState.READY;
  health.setAll("SERVING");
  const ownsBus = options.bus === undefined && config.nats !== undefined;
  const bus = options.bus ?? (config.nats !== undefined ? await connectNatsCoordBus({ servers: config.nats, name: `sigmaserve-worker-${config.workerId}`, security: natsSecurityOptionsOf(config), onError: (err) => logger.warn({ err }, "nats bus") }) : undefined);
  if (bus !== undefined) {
    const migration = new WorkerMigration({
      workerId: config.workerId,
      epoch: eventLog.epoch,
      grpcAddress: () => runtime.address,
      modelId: model.id,
      kvHash,
      kv,
      bus,
      leaseMs: config.migrationLeaseMs,
      isDraining: () => scheduler.isDraining,
      logger,
      maxMessageBytes: config.maxMessageMib * MIB,
      meter: metrics,
      peerSecurity: tls?.peers,
      ...(options.onMigrationFrame === undefined ? {} : { onFrameReceived: options.onMigrationFrame }),
    });
    await migration.start();
    (runtime as { migration: WorkerMigration }).migration = migration;
    if (config.remoteTier) {
      const tier = await RemoteTier.open(bus, { modelId: model.id, blockSizeTokens: config.blockSize, kv, logger }, { maxBytes: config.remoteTierMaxMib * MIB, ttlMs: config.remoteTierTtlS * 1000, maxHotBlocks: DEFAULT_DRAIN_HOT_BLOCKS, fetchMinBlocks: config.remoteTierFetchMinBlocks });
      (runtime as { remoteTier: RemoteTier }).remoteTier = tier;
      await tier.warm();
      if (config.remoteTierPublishMs > 0) {
        publishTimer = setInterval(() => void tier.publishHot().catch((err: unknown) => logger.warn({ err: (err as Error).message }, "remote tier: hot prefixes not written")), config.remoteTierPublishMs);
        publishTimer.unref();
      }
    }
  }
  const membership: BusMembership | undefined = bus === undefined ? undefined : await joinBus(runtime, bus, logger);
  logger.info({ address: runtime.address, metricsAddress: runtime.metricsAddress, health: runtime.healthAddress, tls: tls === undefined ? "off" : "mtls", model: model.id, kernel: kernel.name, kvDtype: kv.dtype, pools: kv.usage() }, "worker listening");
  return runtime;
}
