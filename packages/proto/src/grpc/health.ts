/**
 * gRPC health checking (grpc.health.v1) from the maintained grpc-health-check
 * package. The empty service name "" stands for the whole server, as the
 * protocol defines; Kubernetes gRPC probes and grpc_health_probe ask for it.
 */
import type { DescService } from "@bufbuild/protobuf";
import type { Server } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";

export type { ServingStatus };

/** Sets the serving status of the server ("") and of each named service. */
export interface HealthReporter {
  /** Sets one service's status; "" is the whole server. */
  setStatus(serviceName: string, servingStatus: ServingStatus): void;
  /** Sets the server and every registered service to the same status. */
  setAll(servingStatus: ServingStatus): void;
}

/** The health service of a process: its statuses, and the same service registered on another server. */
export interface HealthService extends HealthReporter {
  /**
   * Registers this same grpc.health.v1.Health (one status map, one set of Watch streams) on another
   * server, e.g. the plaintext health-only port (health-server.ts): both servers answer alike.
   */
  serveOn(server: Server): void;
}

/**
 * Registers grpc.health.v1.Health on `server`. Every service starts NOT_SERVING,
 * so that probes fail until the process calls `setAll("SERVING")` when it is ready.
 */
export function addHealthService(server: Server, services: readonly DescService[]): HealthService {
  const names = ["", ...services.map((service) => service.typeName)];
  const health = new HealthImplementation(Object.fromEntries(names.map((name) => [name, "NOT_SERVING" as const])));
  const serveOn = (target: Server): void => health.addToServer(target as Parameters<HealthImplementation["addToServer"]>[0]);
  serveOn(server);
  return {
    serveOn,
    setStatus: (serviceName, servingStatus) => health.setStatus(serviceName, servingStatus),
    setAll: (servingStatus) => {
      for (const name of names) health.setStatus(name, servingStatus);
    },
  };
}
