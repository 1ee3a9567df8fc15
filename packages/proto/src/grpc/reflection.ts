/**
 * gRPC server reflection from protobuf-es descriptors.
 *
 * @grpc/reflection (the maintained implementation, v1 and v1alpha) indexes
 * serialized FileDescriptorProtos found in a proto-loader package definition.
 * We have no proto-loader definition, but every protobuf-es file descriptor
 * carries its FileDescriptorProto, so we hand those over in the same shape.
 * That lets grpcurl and Postman browse our services without .proto files.
 */
import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.name)) return;
  into.set(file.name, file);
  for (const dependency of file.dependencies) collectFiles(dependency, into);
}

/** Serialized FileDescriptorProtos of the services' files and everything they import. */
export function fileDescriptorProtos(services: readonly DescService[]): Buffer[] {
  const files = new Map<string, DescFile>();
  for (const service of services) collectFiles(service.file, files);
  return [...files.values()].map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
}

/** Registers grpc.reflection.v1 (and v1alpha) on `server`, listing exactly `services`. */
export function addReflectionService(server: Pick<Server, "addService">, services: readonly DescService[]): void {
  const fileDescriptors = fileDescriptorProtos(services);
  // A package definition as @grpc/reflection reads it: it only looks at
  // `fileDescriptorProtos` of each entry, so one entry per service suffices.
  const packageDefinition = Object.fromEntries(
    services.map((service) => [service.typeName, { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: fileDescriptors }]),
  );
  const reflection = new ReflectionService(packageDefinition as unknown as ConstructorParameters<typeof ReflectionService>[0], {
    services: services.map((service) => service.typeName),
  });
  reflection.addToServer(server);
}
