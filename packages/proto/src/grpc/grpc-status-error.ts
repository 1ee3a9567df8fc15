/**
 * The one error type that carries a gRPC status across the adapter.
 *
 * A server handler throws it (or its app maps a typed error to it once, at the
 * edge, through `toStatus`), and the typed client rejects with it, so code on
 * both sides reads `err.code` against `status` from @grpc/grpc-js.
 */
import { Metadata, status } from "@grpc/grpc-js";

export type GrpcStatusCode = status;

/** A gRPC status as an Error: `code` is the status, `details` the message sent on the wire. */
export class GrpcStatusError extends Error {
  override readonly name = "GrpcStatusError";
  readonly code: GrpcStatusCode;
  readonly details: string;
  readonly metadata: Metadata;

  constructor(code: GrpcStatusCode, details: string, options?: { cause?: unknown; metadata?: Metadata }) {
    super(`${status[code] ?? code}: ${details}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = details;
    this.metadata = options?.metadata ?? new Metadata();
  }

  /** Wraps a grpc-js ServiceError (what the channel rejects with) in the typed error. */
  static fromServiceError(err: { code?: number; details?: string; message?: string; metadata?: Metadata }): GrpcStatusError {
    const code = (err.code ?? status.UNKNOWN) as GrpcStatusCode;
    const details = err.details ?? err.message ?? "unknown error";
    return new GrpcStatusError(code, details, { cause: err, ...(err.metadata ? { metadata: err.metadata } : {}) });
  }
}

/** True when `err` is a GrpcStatusError, also across duplicated module copies. */
export function isGrpcStatusError(err: unknown): err is GrpcStatusError {
  return err instanceof GrpcStatusError || (err instanceof Error && err.name === "GrpcStatusError" && "code" in err);
}
