import { Server, ServerCredentials } from "@grpc/grpc-js";
import { bindService, createGrpcClient, grpcServiceDefinition, inferencev1, workerv1 } from "@sigmaserve/proto";
import { startTestRouter } from "../testing/test-router.js";
import { inferenceServiceImpl } from "../grpc/inference-service.js";
import { toGrpcStatus } from "../grpc/to-grpc-status.js";
const M = Number(process.argv[2] ?? 1);
const router = await startTestRouter({ behaviour: { reply: "x".repeat(M), tokensPerChunk: 1 } });
const server = new Server();
server.addService(grpcServiceDefinition(inferencev1.InferenceService), bindService(inferencev1.InferenceService, inferenceServiceImpl(router.core), { toStatus: toGrpcStatus }));
const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
const viaRouter = createGrpcClient(inferencev1.InferenceService, `127.0.0.1:${port}`);
const direct = createGrpcClient(workerv1.WorkerService, router.worker!.address);
const prompt = Array.from({ length: 544 }, (_, i) => i % 256);
const once = {
  router: async () => { for await (const _ of viaRouter.generate({ model: "sigma-tiny", prompt: { case: "tokenIds", value: { ids: prompt } }, sampling: { maxTokens: M, temperature: 0 } })); },
  direct: async () => { for await (const _ of direct.generate({ requestId: String(Math.random()), model: "sigma-tiny", promptTokenIds: prompt, sampling: { maxTokens: M, temperature: 0 } })); },
};
const N = 1000;
for (const name of ["direct", "router", "direct", "router"] as const) {
  for (let i = 0; i < 100; i++) await once[name]();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await once[name]();
  const c = process.cpuUsage(c0);
  console.log(name, "M", M, "cpu ms per request (all sides in this process)", ((c.user + c.system) / 1000 / N).toFixed(3));
}
viaRouter.close(); direct.close(); await new Promise<void>((r) => server.tryShutdown(() => r())); await router.close();
