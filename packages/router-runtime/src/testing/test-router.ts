/**
 * Test fixture: a real RequestPipeline (pool, KV index, round-robin selector,
 * admission, API keys, tokenizers) with the OpenAI HTTP server on
 * 127.0.0.1:0 and, unless asked otherwise, one FakeWorker (a test double,
 * see fake-worker.ts) registered in the pool.
 */
import { KvIndex, createWorkerSelector } from "@sigmaserve/kv-index";
import { pino } from "pino";
import { AdmissionController } from "../admission/admission-controller.js";
import { ApiKeys } from "../auth/api-keys.js";
import { TokenizerRegistry } from "../generate/normalize-request.js";
import { startOpenAiServer, type OpenAiServer } from "../http/openai-server.js";
import { RequestPipeline } from "../request-pipeline.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { FakeWorker, type FakeWorkerBehaviour } from "./fake-worker.js";

export interface TestRouter {
  pipeline: RequestPipeline;
  http: OpenAiServer;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** The registered fake worker; undefined when started with `worker: false`. */
  worker: FakeWorker | undefined;
  close(): Promise<void>;
}

export interface TestRouterOptions {
  /** API keys as "key=tenant,..." ("" = open). */
  apiKeys?: string;
  /** Router-wide limits, and a TenantGate for per-tenant ones. */
  admission?: ConstructorParameters<typeof AdmissionController>[0];
  /** Register a fake worker (default true). */
  worker?: boolean;
  behaviour?: Partial<FakeWorkerBehaviour>;
  maxBodyBytes?: number;
  /** Record prompt and output text on request spans (the router's --trace-content). */
  traceContent?: boolean;
}

export async function startTestRouter(options: TestRouterOptions = {}): Promise<TestRouter> {
  const logger = pino({ level: "silent" });
  const pool = new WorkerPool({ maxMessageMib: 16 });
  const pipeline = new RequestPipeline({
    pool,
    index: new KvIndex(),
    selector: createWorkerSelector("round_robin"),
    admission: new AdmissionController(options.admission ?? { maxInFlight: 64, maxQueued: 64 }),
    apiKeys: ApiKeys.parse(options.apiKeys ?? "", "test"),
    tokenizers: new TokenizerRegistry({ pool }),
    logger,
    ...(options.traceContent === undefined ? {} : { traceContent: options.traceContent }),
  });
  const worker = options.worker === false ? undefined : await FakeWorker.start(options.behaviour === undefined ? {} : { behaviour: options.behaviour });
  if (worker !== undefined) pool.upsert(worker.workerInfo());
  const http = await startOpenAiServer(pipeline, {
    host: "127.0.0.1",
    port: 0,
    logger,
    closeGraceMs: 200,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
  return {
    pipeline,
    http,
    baseUrl: `http://${http.address}`,
    worker,
    close: async () => {
      await http.close();
      pool.close();
      await worker?.stop();
    },
  };
}
