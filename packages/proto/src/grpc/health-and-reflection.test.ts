import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Server, ServerCredentials, credentials, loadPackageDefinition, makeGenericClientConstructor, type Client } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath, service as healthServiceDefinition } from "grpc-health-check";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { EchoService } from "../gen/sigmaserve/testing/v1/echo_pb.js";
import { InferenceService } from "../gen/sigmaserve/v1/inference_pb.js";
import { WorkerService } from "../gen/sigmaserve/worker/v1/worker_pb.js";
import { addHealthService } from "./health.js";
import { addReflectionService } from "./reflection.js";

// The clients below are built from the protocols' own .proto files with
// proto-loader: an implementation independent of the protobuf-es descriptors
// the server side was built from.
const require = createRequire(import.meta.url);
const reflectionProtoPath = join(dirname(require.resolve("@grpc/reflection")), "..", "proto", "grpc", "reflection", "v1", "reflection.proto");

type Callback<T> = (err: Error | null, value: T) => void;

async function withServer(setup: (server: Server) => void, body: (address: string) => Promise<void>): Promise<void> {
  const server = new Server();
  setup(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  try {
    await body(`127.0.0.1:${port}`);
  } finally {
    server.forceShutdown();
  }
}

test("grpc health - the server reports NOT_SERVING until it is ready, then SERVING", async () => {
  let health!: ReturnType<typeof addHealthService>;
  await withServer(
    (server) => (health = addHealthService(server, [InferenceService])),
    async (address) => {
      const HealthClient = makeGenericClientConstructor(healthServiceDefinition, "Health");
      const client = new HealthClient(address, credentials.createInsecure()) as unknown as Client & {
        check(request: { service: string }, callback: Callback<{ status: string }>): void;
      };
      const check = (service: string) =>
        new Promise<string>((resolve, reject) => client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));
      try {
        assert.equal(await check(""), "NOT_SERVING");
        health.setAll("SERVING");
        assert.equal(await check(""), "SERVING");
        assert.equal(await check("sigmaserve.v1.InferenceService"), "SERVING");
        await assert.rejects(check("no.such.Service"), (err: { code?: number }) => err.code === 5);
      } finally {
        client.close();
      }
    },
  );
  assert.ok(healthProtoPath.endsWith("health.proto"));
});

test("grpc reflection - lists our services and serves their descriptors with imports", async () => {
  await withServer(
    (server) => addReflectionService(server, [InferenceService, WorkerService, EchoService]),
    async (address) => {
      const definition = loadPackageDefinition(loadSync(reflectionProtoPath, { keepCase: true, longs: String, defaults: true, oneofs: true }));
      const ReflectionClient = (definition as any).grpc.reflection.v1.ServerReflection;
      const client = new ReflectionClient(address, credentials.createInsecure());
      const ask = (request: object) =>
        new Promise<any>((resolve, reject) => {
          const call = client.ServerReflectionInfo();
          call.on("data", (response: unknown) => {
            resolve(response);
            call.end();
          });
          call.on("error", reject);
          call.write(request);
        });
      try {
        const listed = await ask({ list_services: "*" });
        const names = listed.list_services_response.service.map((s: { name: string }) => s.name).sort();
        assert.deepEqual(names, ["sigmaserve.testing.v1.EchoService", "sigmaserve.v1.InferenceService", "sigmaserve.worker.v1.WorkerService"]);

        const found = await ask({ file_containing_symbol: "sigmaserve.v1.InferenceService" });
        const files = found.file_descriptor_response.file_descriptor_proto.map((bytes: Buffer) => fromBinary(FileDescriptorProtoSchema, bytes));
        const inference = files.find((f: { name: string }) => f.name === "sigmaserve/v1/inference.proto");
        assert.ok(inference, "the file declaring InferenceService is returned");
        assert.deepEqual(
          inference.service[0].method.map((m: { name: string }) => m.name),
          ["Generate", "Tokenize", "ListModels"],
        );

        const worker = await ask({ file_containing_symbol: "sigmaserve.worker.v1.WorkerService" });
        const workerFiles = worker.file_descriptor_response.file_descriptor_proto
          .map((bytes: Buffer) => fromBinary(FileDescriptorProtoSchema, bytes).name)
          .sort();
        assert.deepEqual(workerFiles, [
          "sigmaserve/coord/v1/coord.proto",
          "sigmaserve/kv/v1/kv.proto",
          "sigmaserve/v1/inference.proto",
          "sigmaserve/worker/v1/worker.proto",
        ]);
      } finally {
        client.close();
      }
    },
  );
});

/** The leading comment at a descriptor path (FileDescriptorProto field numbers: 4 message_type, 2 field; 6 service, 2 method). */
function commentAt(file: { sourceCodeInfo?: { location: { path: number[]; leadingComments?: string }[] } }, path: number[]): string | undefined {
  return file.sourceCodeInfo?.location.find((l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]))?.leadingComments?.trim();
}

test("grpc reflection - the descriptors carry the .proto comments (source info), over v1 and v1alpha", async () => {
  const v1alphaPath = join(dirname(reflectionProtoPath), "..", "v1alpha", "reflection.proto");
  await withServer(
    (server) => addReflectionService(server, [InferenceService]),
    async (address) => {
      for (const [protoPath, version] of [
        [reflectionProtoPath, "v1"],
        [v1alphaPath, "v1alpha"],
      ] as const) {
        const definition = loadPackageDefinition(loadSync(protoPath, { keepCase: true, longs: String, defaults: true, oneofs: true }));
        const ReflectionClient = (definition as any).grpc.reflection[version].ServerReflection;
        const client = new ReflectionClient(address, credentials.createInsecure());
        try {
          const found = await new Promise<any>((resolve, reject) => {
            const call = client.ServerReflectionInfo();
            call.on("data", (response: unknown) => {
              resolve(response);
              call.end();
            });
            call.on("error", reject);
            call.write({ file_containing_symbol: "sigmaserve.v1.InferenceService" });
          });
          const files = found.file_descriptor_response.file_descriptor_proto.map((bytes: Buffer) => fromBinary(FileDescriptorProtoSchema, bytes));
          const inference = files.find((f: { name: string }) => f.name === "sigmaserve/v1/inference.proto");
          assert.ok(inference, `${version}: the file declaring InferenceService is returned`);
          const serviceIndex = inference.service.findIndex((s: { name: string }) => s.name === "InferenceService");
          const generateIndex = inference.service[serviceIndex].method.findIndex((m: { name: string }) => m.name === "Generate");
          assert.equal(commentAt(inference, [6, serviceIndex]), "Text generation for clients: the cluster's front door.", version);
          assert.equal(commentAt(inference, [6, serviceIndex, 2, generateIndex]), "Generates a completion for one prompt, streaming tokens as they are sampled.", version);
          const requestIndex = inference.messageType.findIndex((m: { name: string }) => m.name === "GenerateRequest");
          const modelIndex = inference.messageType[requestIndex].field.findIndex((f: { name: string }) => f.name === "model");
          assert.equal(commentAt(inference, [4, requestIndex, 2, modelIndex]), 'Model id as listed by ListModels, e.g. "sigma-tiny".', version);
        } finally {
          client.close();
        }
      }
    },
  );
});
