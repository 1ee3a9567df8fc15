/**
 * FLOOR RELAY, NOT the router: the least a grpc-js process can do to stand
 * between a client and the fake worker, to put the router's cost in scale.
 * It serves sigmaserve.v1.InferenceService/Generate with serialisers that
 * pass bytes through (no protobuf decode or encode at all), opens one
 * WorkerService/Generate call per request on one channel to the worker,
 * sends it a fixed pre-encoded request, and writes each message it gets back
 * to the client as it came, honouring back-pressure and cancellation. No
 * routing, admission, metrics, logs, failover or gap checks: what remains is
 * grpc-js and HTTP/2, one server call and one client call per request.
 *
 * Run: node floor-relay.ts --worker HOST:PORT [--tokens N]; it logs one JSON line
 * {"msg":"floor relay listening","grpc":"127.0.0.1:PORT"} on stdout.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ClientReadableStream, type ServerWritableStream } from "@grpc/grpc-js";
import { workerv1 } from "@sigmaserve/proto";
import { FLOOR_RELAY_READY_MESSAGE } from "./fake-worker-ready.js";

const at = process.argv.indexOf("--worker");
const workerAddress = process.argv[at + 1]!;
const passBytes = (value: Buffer) => value;
const definition = (path: string) => ({ generate: { path, requestStream: false, responseStream: true, requestSerialize: passBytes, requestDeserialize: passBytes, responseSerialize: passBytes, responseDeserialize: passBytes } });

const WorkerClient = makeGenericClientConstructor(definition("/sigmaserve.worker.v1.WorkerService/Generate"), "FloorWorker");
const worker = new WorkerClient(workerAddress, credentials.createInsecure(), { "grpc.enable_channelz": 0 }) as unknown as { generate(request: Buffer): ClientReadableStream<Buffer> };
// Every request asks the worker for the same thing: the relay reads nothing of what the client sent.
const tokensAt = process.argv.indexOf("--tokens");
const maxTokens = tokensAt < 0 ? 32 : Number(process.argv[tokensAt + 1]);
const request = Buffer.from(toBinary(workerv1.GenerateRequestSchema, create(workerv1.GenerateRequestSchema, { requestId: "floor", model: "sigma-tiny", promptTokenIds: [1, 2, 3], sampling: { maxTokens } })));

function relay(call: ServerWritableStream<Buffer, Buffer>): void {
  const upstream = worker.generate(request);
  call.on("cancelled", () => upstream.cancel());
  upstream.on("data", (message: Buffer) => {
    if (!call.write(message)) {
      upstream.pause();
      call.once("drain", () => upstream.resume());
    }
  });
  upstream.on("error", (err: { code: number; details: string }) => call.emit("error", { code: err.code, details: err.details }));
  upstream.on("end", () => call.end());
}

const server = new Server({ "grpc.enable_channelz": 0 });
server.addService(definition("/sigmaserve.v1.InferenceService/Generate"), { generate: relay });
const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
process.stdout.write(`${JSON.stringify({ msg: FLOOR_RELAY_READY_MESSAGE, grpc: `127.0.0.1:${port}`, fake: true })}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => server.tryShutdown(() => process.exit(0)));
