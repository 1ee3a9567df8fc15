/**
 * FAKE WORKER, NOT the real worker: a process of its own (so its CPU is not
 * counted as the router's) serving sigmaserve.worker.v1.WorkerService through
 * the real grpc-js adapter (bindService) on 127.0.0.1, port chosen by the OS.
 * It has no model: Generate streams `--tokens` one-token chunks (byte tokens
 * of a fixed reply, completion_offset 0, 1, ...; fewer when the request's
 * max_tokens says so) at once, then a finish (LENGTH, usage), the chunks
 * encoded once at start and written as EncodedMessage,
 * so that the fake's own cost per request stays as small as the adapter
 * allows and the router is what the bench measures. A replay
 * (generated_token_ids set) continues after the tokens it carries, as the
 * real worker does. GetInfo and GetLoad answer as a READY sigma-tiny worker
 * with the byte tokenizer, for the router's static discovery (--workers).
 *
 * Run: node --import tsx fake-worker.ts [--tokens N]; it logs one JSON line
 * {"msg":"fake worker listening","address":"127.0.0.1:PORT"} on stdout.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { KV_HASH_ALGORITHM } from "@sigmaserve/kvcache/hash";
import { bindService, coordv1, EncodedMessage, GrpcStatusError, grpcServiceDefinition, inferencev1, kvv1, workerv1, type ServiceImpl } from "@sigmaserve/proto";
import { FAKE_MODEL_ID, FAKE_WORKER_READY_MESSAGE } from "./fake-worker-ready.js";

const FAKE_WORKER_ID = "fake-worker";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const tokens = flag("tokens", 32);
// Lower-case letters as byte tokens: one UTF-8 byte per token, so each chunk's text_delta is its one character.
const reply = Array.from({ length: tokens }, (_, i) => 97 + (i % 26));

const bytesOf = (message: workerv1.GenerateResponse) => Buffer.from(toBinary(workerv1.GenerateResponseSchema, message));
/** Chunk i, encoded once: every request streams the same bytes. */
const chunks = reply.map((id, i) => bytesOf(create(workerv1.GenerateResponseSchema, { event: { case: "chunk", value: { tokenIds: [id], textDelta: String.fromCharCode(id), completionOffset: i } } })));

function finishBytes(request: workerv1.GenerateRequest, sent: number): Buffer {
  return bytesOf(
    create(workerv1.GenerateResponseSchema, {
      event: {
        case: "finish",
        value: {
          finishReason: inferencev1.FinishReason.LENGTH,
          usage: { promptTokens: request.promptTokenIds.length, completionTokens: sent, cachedPromptTokens: 0 },
          requestId: request.requestId,
          seed: request.sampling?.seed ?? 0n,
        },
      },
    }),
  );
}

const info = create(coordv1.WorkerInfoSchema, {
  workerId: FAKE_WORKER_ID,
  epoch: 1n,
  model: { id: FAKE_MODEL_ID, tokenizer: "byte", vocabSize: 259, maxContextTokens: 1 << 20 },
  kvHash: { algorithm: KV_HASH_ALGORITHM, blockSizeTokens: 16 },
  kvCapacity: [
    { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, numBlocks: 1 << 20, blockBytes: 8_192n },
    { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, numBlocks: 1 << 20, blockBytes: 32_768n },
  ],
  startedAtUnixMs: BigInt(Date.now()),
});

const load = () =>
  create(coordv1.WorkerLoadSchema, {
    workerId: FAKE_WORKER_ID,
    epoch: 1n,
    state: coordv1.WorkerState.READY,
    kvUsage: [
      { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, usedBlocks: 0, cachedFreeBlocks: 0, totalBlocks: 1 << 20 },
      { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, usedBlocks: 0, cachedFreeBlocks: 0, totalBlocks: 1 << 20 },
    ],
    measuredAtUnixMs: BigInt(Date.now()),
  });

const unimplemented = (method: string) => new GrpcStatusError(status.UNIMPLEMENTED, `the bench's fake worker does not implement ${method}`);

const impl = {
  getInfo: async () => ({ info }),
  getLoad: async () => ({ load: load() }),
  drain: async () => {
    throw unimplemented("Drain");
  },
  // eslint-disable-next-line require-yield
  exportKv: async function* () {
    throw unimplemented("ExportKv");
  },
  importKv: async () => {
    throw unimplemented("ImportKv");
  },
  getTokenizer: async () => {
    throw unimplemented("GetTokenizer");
  },
  generate: async function* (request: workerv1.GenerateRequest, context: { signal: AbortSignal }) {
    let sent = request.generatedTokenIds.length;
    const end = Math.min(chunks.length, request.sampling?.maxTokens ?? chunks.length);
    for (; sent < end && !context.signal.aborted; sent++) yield new EncodedMessage(chunks[sent]!);
    yield new EncodedMessage(finishBytes(request, sent));
  },
} as unknown as ServiceImpl<typeof workerv1.WorkerService>;

const server = new Server();
const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
server.addService(grpcServiceDefinition(workerv1.WorkerService), bindService(workerv1.WorkerService, impl));
process.stdout.write(`${JSON.stringify({ msg: FAKE_WORKER_READY_MESSAGE, address: `127.0.0.1:${port}`, tokens, fake: true })}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => server.tryShutdown(() => process.exit(0)));
