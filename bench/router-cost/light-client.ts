/**
 * The load generator's client: a grpc-js client whose responses stay bytes.
 * NOTE: at hundreds of requests/s × 33 messages the generator's own decoding
 * would compete with the fake worker for the non-router core, so a message is
 * told apart by its first byte (the oneof's tag: 0x0a chunk, 0x12 finish) and
 * only the finish is decoded (for router_ms and the finish reason). The
 * public GenerateResponse and the worker's have the same wire shape (chunk = 1,
 * finish = 2), so one client calls either service: through the router
 * (InferenceService/Generate) or straight to the fake worker
 * (WorkerService/Generate).
 */
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { credentials, makeGenericClientConstructor, type Client, type ClientReadableStream } from "@grpc/grpc-js";
import { inferencev1, workerv1 } from "@sigmaserve/proto";

/** One request as the client saw it; times from the send, ms. */
export interface RequestRecord {
  ok: boolean;
  error?: string;
  ttftMs: number;
  e2eMs: number;
  tokens: number;
  /** Timings.router_ms from the finish (0 direct to the worker). */
  routerMs: number;
}

const CHUNK_TAG = 0x0a;
const FINISH_TAG = 0x12;

export interface LightClient {
  generate(request: { promptTokenIds: number[]; maxTokens: number; requestId: string }): Promise<RequestRecord>;
  close(): void;
}

function rawClient(path: string, schema: DescMessage, address: string): Client & { call(request: unknown): ClientReadableStream<Buffer> } {
  const Constructor = makeGenericClientConstructor(
    {
      call: {
        path,
        requestStream: false,
        responseStream: true,
        requestSerialize: (value: unknown) => Buffer.from(toBinary(schema, create(schema, value as never))),
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    },
    path,
  );
  return new Constructor(address, credentials.createInsecure()) as unknown as Client & { call(request: unknown): ClientReadableStream<Buffer> };
}

async function readStream(stream: ClientReadableStream<Buffer>, sentAtMs: number): Promise<RequestRecord> {
  const record: RequestRecord = { ok: false, ttftMs: Number.NaN, e2eMs: Number.NaN, tokens: 0, routerMs: Number.NaN };
  try {
    for await (const message of stream as AsyncIterable<Buffer>) {
      if (message[0] === CHUNK_TAG) {
        // The fake worker sends one token per chunk, and the router relays chunks as they come.
        if (record.tokens++ === 0) record.ttftMs = performance.now() - sentAtMs;
      } else if (message[0] === FINISH_TAG) {
        record.e2eMs = performance.now() - sentAtMs;
        const finish = fromBinary(inferencev1.GenerateResponseSchema, message).event;
        if (finish.case !== "finish") continue;
        record.routerMs = finish.value.timings?.routerMs ?? 0;
        record.ok = finish.value.finishReason === inferencev1.FinishReason.LENGTH || finish.value.finishReason === inferencev1.FinishReason.STOP;
        if (!record.ok) record.error = `finish ${inferencev1.FinishReason[finish.value.finishReason]}: ${finish.value.errorMessage}`;
      }
    }
  } catch (err) {
    record.ok = false;
    record.error = (err as Error).message;
  }
  return record;
}

/** Calls Generate on the router (InferenceService). */
export function routerClient(address: string, model: string): LightClient {
  const client = rawClient("/sigmaserve.v1.InferenceService/Generate", inferencev1.GenerateRequestSchema, address);
  return {
    generate: ({ promptTokenIds, maxTokens, requestId }) => {
      const sentAtMs = performance.now();
      return readStream(client.call({ model, prompt: { case: "tokenIds", value: { ids: promptTokenIds } }, sampling: { maxTokens, temperature: 0 }, clientRequestId: requestId }), sentAtMs);
    },
    close: () => client.close(),
  };
}

/** Calls Generate straight on the (fake) worker (WorkerService), as the router would. */
export function workerClient(address: string, model: string): LightClient {
  const client = rawClient("/sigmaserve.worker.v1.WorkerService/Generate", workerv1.GenerateRequestSchema, address);
  return {
    generate: ({ promptTokenIds, maxTokens, requestId }) => {
      const sentAtMs = performance.now();
      return readStream(client.call({ requestId, model, promptTokenIds, sampling: { maxTokens, temperature: 0, seed: 1n }, arrivedAtUnixMs: BigInt(Date.now()) }), sentAtMs);
    },
    close: () => client.close(),
  };
}
