/**
 * RouterRuntime: a running router, the only thing in this package called a
 * router: worker discovery (bus or static list), the KV index and selector,
 * the RequestPipeline (admission and keys), the gRPC InferenceService (with
 * health and reflection) and the OpenAI HTTP server, started and stopped
 * together.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { connectNatsCoordBus, natsSecurityOptionsOf, type CoordBus } from "@sigmaserve/coord";
import { KvIndex, createWorkerSelector, type RoutingPolicy } from "@sigmaserve/kv-index";
import { addHealthService, addReflectionService, bindService, grpcServiceDefinition, inferencev1, messageSizeOptions, pemServerCredentials, startHealthServer, type HealthServer } from "@sigmaserve/proto";
import type { Logger } from "pino";
import { startTenancy } from "./auth/start-tenancy.js";
import { RouterConfigError } from "./errors.js";
import type { RouterConfig } from "./config/router-config.js";
import { openRouterTls } from "./config/router-tls.js";
import { BusDiscovery } from "./discovery/bus-discovery.js";
import { StaticDiscovery } from "./discovery/static-discovery.js";
import type { RouteDecision, RoutedRequest } from "./generate/dispatcher.js";
import { TokenizerRegistry } from "./generate/normalize-request.js";
import { healthFollowsReadiness, LIVENESS_HEALTH_SERVICE } from "./grpc/health-follows-readiness.js";
import { inferenceServiceImpl } from "./grpc/inference-service.js";
import { toGrpcStatus } from "./grpc/to-grpc-status.js";
import { startOpenAiServer, type OpenAiServer } from "./http/openai-server.js";
import { RequestPipeline } from "./request-pipeline.js";
import { Autoscaler } from "./autoscaler/autoscaler.js";
import { createScaleProvider } from "./autoscaler/create-scale-provider.js";
import { WorkerPool } from "./workers/worker-pool.js";

const MIB = 2 ** 20;

export interface RouterRuntime {
  readonly pipeline: RequestPipeline;
  /** The autoscaler loop, when --autoscale is on (it decides only while this router holds the lease). */
  readonly autoscaler: Autoscaler | undefined;
  readonly grpcAddress: string;
  readonly httpAddress: string;
  /** host:port of the plaintext health-only server (--health-port); undefined without it. */
  readonly healthAddress: string | undefined;
  /** Reads --api-keys-file again (what SIGHUP does); false when it failed (the old keys stay) or there is none. */
  reloadApiKeys(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface StartRouterOptions {
  /** A bus to use instead of connecting to --nats (the single-process memory bus). */
  bus?: CoordBus;
  onRoute?: (request: RoutedRequest, decision: RouteDecision) => void;
}

export async function startRouter(config: RouterConfig, logger: Logger, options: StartRouterOptions = {}): Promise<RouterRuntime> {
  // Checked here, not when parsing flags: a caller that hands over a bus (the single-process cluster) needs neither.
  if (options.bus === undefined && config.nats === undefined && config.workers.length === 0 && config.k8sWorkerService === undefined) {
    throw new RouterConfigError("give --nats URL, --workers host:port,... or --k8s-worker-service NAME (where the workers are)");
  }
  if (config.autoscale !== undefined && options.bus === undefined && config.nats === undefined) throw new RouterConfigError("--autoscale needs the bus (--nats URL): the leader lease and the drains go over it");
  // Before anything starts: TLS files that cannot be used stop the router here (fail closed).
  const tls = openRouterTls(config, logger);
  const pool = new WorkerPool({ maxMessageMib: config.maxMessageMib, security: tls.workers });
  const index = new KvIndex();
  const ownsBus = options.bus === undefined && config.nats !== undefined;
  const bus = options.bus ?? (config.nats !== undefined ? await connectNatsCoordBus({ servers: config.nats, name: "sigmaserve-router", security: natsSecurityOptionsOf(config), onError: (err) => logger.warn({ err }, "nats bus") }) : undefined);
  // Keys, secret salts (from the bus when no key is given) and per-tenant admission; refusals are counted per tenant.
  const tenancy = await startTenancy(config, bus, logger, (tenant, limit) => pipeline.metrics.tenantLimited(tenant, limit));
  const pipeline = new RequestPipeline({
    pool,
    index,
    selector: createWorkerSelector(config.policy as RoutingPolicy),
    admission: tenancy.admission,
    apiKeys: tenancy.apiKeys,
    // Knowing the pool, it fetches a model's tokenizer from its workers as soon as the first one joins.
    tokenizers: new TokenizerRegistry({ pool }),
    logger,
    maxReplays: config.maxReplays,
    stallTimeoutMs: config.stallTimeoutMs,
    traceContent: config.traceContent,
    ...(options.onRoute === undefined ? {} : { onRoute: options.onRoute }),
    ...(bus === undefined || config.cachePullMinBlocks === 0 ? {} : { cachePulls: { bus, minBlocks: config.cachePullMinBlocks } }),
    ...(bus === undefined ? {} : { split: { bus, minPromptTokens: config.splitMinPromptTokens, maxPrefillQueue: config.splitMaxPrefillQueue } }),
  });

  const busDiscovery = bus === undefined ? undefined : new BusDiscovery(bus, pool, index, logger);
  const staticDiscovery = config.workers.length === 0 ? undefined : new StaticDiscovery(config.workers, pool, logger);
  await busDiscovery?.start();
  await staticDiscovery?.start();
  // Loaded only when asked for: importing @kubernetes/client-node costs a router about a second.
  const endpointSlices =
    config.k8sWorkerService === undefined
      ? undefined
      : (await import("./discovery/endpoint-slice-discovery.js")).EndpointSliceDiscovery.fromEnvironment({
          service: config.k8sWorkerService,
          pool,
          logger,
          ...(config.k8sNamespace === undefined ? {} : { namespace: config.k8sNamespace }),
        });
  await endpointSlices?.start();

  // NOTE: what clients may send is bounded apart from what the router sends them: a request needs little (a
  // prompt of a 128K context is about 0.5 MiB), an answer with prompt logprobs may need much more.
  // NOTE: channelz off (nothing serves it): its bookkeeping is per call and per message.
  const server = new Server({ ...messageSizeOptions(config.maxMessageMib * MIB), "grpc.max_receive_message_length": Math.round(config.maxRequestMib * MIB), "grpc.enable_channelz": 0 });
  server.addService(grpcServiceDefinition(inferencev1.InferenceService), bindService(inferencev1.InferenceService, inferenceServiceImpl(pipeline), { toStatus: toGrpcStatus }));
  const health = addHealthService(server, [inferencev1.InferenceService]);
  addReflectionService(server, [inferencev1.InferenceService]);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.host}:${config.grpcPort}`, tls.door === undefined ? ServerCredentials.createInsecure() : pemServerCredentials(tls.door), (err, port) => (err ? reject(err) : resolve(port))),
  );
  // The same health service, plaintext and alone, for probes that cannot speak the door's TLS.
  const healthServer: HealthServer | undefined = config.healthPort === undefined ? undefined : await startHealthServer(health, { host: config.host, port: config.healthPort });
  const http: OpenAiServer = await startOpenAiServer(pipeline, { host: config.host, port: config.httpPort, logger, ...(tls.door === undefined ? {} : { tls: tls.door }) });
  let autoscaler: Autoscaler | undefined;
  if (config.autoscale !== undefined) {
    autoscaler = new Autoscaler({
      bus: bus!,
      provider: await createScaleProvider(config, logger.child({ component: "autoscaler" })),
      pool,
      index,
      recent: pipeline.recent,
      routerMetrics: pipeline.metrics,
      logger: logger.child({ component: "autoscaler" }),
      routerId: config.routerId,
      policy: {
        minWorkers: config.autoscale.min,
        maxWorkers: config.autoscale.max,
        upWaitingPerWorker: config.autoscaleUpWaiting,
        downWaitingPerWorker: config.autoscaleDownWaiting,
        upKvUsage: config.autoscaleUpKvUsage,
        downKvUsage: config.autoscaleDownKvUsage,
        ttftSloMs: config.autoscaleTtftSloMs,
        warmupMs: config.autoscaleWarmupS * 1000,
        downWindowMs: config.autoscaleDownWindowS * 1000,
        maxStep: config.autoscaleMaxStep,
      },
      intervalMs: config.autoscaleIntervalS * 1000,
      leaseTtlMs: config.autoscaleLeaseTtlS * 1000,
      drainTimeoutMs: config.autoscaleDrainTimeoutS * 1000,
    });
    await autoscaler.start();
  }
  // SERVING exactly while /readyz is 200: at least one routable worker (a DRAINING or DRAINED one does not count).
  const healthFollower = healthFollowsReadiness(health, pool);
  // Liveness is not readiness: a router with no worker is alive and must not be restarted.
  health.setStatus(LIVENESS_HEALTH_SERVICE, "SERVING");
  const runtime: RouterRuntime = {
    pipeline,
    autoscaler,
    grpcAddress: `${config.host}:${grpcPort}`,
    httpAddress: http.address,
    healthAddress: healthServer?.address,
    reloadApiKeys: () => tenancy.reloadApiKeys(),
    stop: async () => {
      tenancy.stop();
      healthFollower.stop();
      health.setAll("NOT_SERVING");
      health.setStatus(LIVENESS_HEALTH_SERVICE, "NOT_SERVING");
      // First: the lease goes to another router at once, and workers this router started (local-process) stop.
      await autoscaler?.stop();
      await http.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      // Last of the listeners: probes read NOT_SERVING, not a refused connection, while streams finish.
      healthServer?.close();
      staticDiscovery?.stop();
      await endpointSlices?.stop();
      await busDiscovery?.stop();
      if (ownsBus) await bus?.close();
      pool.close();
      tls.close();
      await pipeline.tokenizers.close();
    },
  };
  logger.info({ grpc: runtime.grpcAddress, http: runtime.httpAddress, health: runtime.healthAddress, tls: tls.door === undefined ? "off" : tls.door.hasCa ? "mtls" : "tls", workerTls: tls.workers !== undefined, policy: config.policy, discovery: [bus === undefined ? [] : ["bus"], staticDiscovery === undefined ? [] : ["static"], endpointSlices === undefined ? [] : ["endpointslices"]].flat().join("+") }, "router listening");
  return runtime;
}
