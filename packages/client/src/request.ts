/**
 * The friendly generate request → the wire's `sigmaserve.v1.GenerateRequest`.
 *
 * Range rules (top_p in (0, 1], max_tokens >= 1, …) are the router's to
 * enforce, so that there is one source of truth. The SDK checks only what the
 * wire cannot carry at all (a negative or fractional uint32, a seed outside
 * uint64, a float beyond float32 such as temperature 1e300) and refuses it as
 * the server would: InvalidArgumentError with one field violation named by its
 * proto field path.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { inferencev1 } from "@sigmaserve/proto";
import { InvalidArgumentError } from "./errors.js";

/** One generation request. Unset sampling fields take the server's documented defaults. */
export interface GenerateRequest {
  /** Model id as listed by listModels(), e.g. "sigma-tiny". */
  model: string;
  /** Text (tokenized by the router, BOS added) or token ids (used as given). */
  prompt: string | readonly number[];
  /** Most tokens to generate, >= 1; server default 16. */
  maxTokens?: number;
  /** Softmax temperature >= 0; 0 is greedy. Server default 1. */
  temperature?: number;
  /** Nucleus sampling threshold in (0, 1]. Server default 1 (off). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 is off. */
  topK?: number;
  /** Seed of the request's own PRNG, a uint64; the server draws one when unset (see the finish event). */
  seed?: bigint | number;
  /** Stop strings (at most 16), not included in the output. */
  stop?: readonly string[];
  /** Stop token ids, not included in the output. EOS always stops unless ignoreEos. */
  stopTokenIds?: readonly number[];
  /** Return the sampled token's logprob plus this many alternatives per step (0–20). */
  logprobs?: number;
  /** Keep generating past EOS until maxTokens (benchmarks). */
  ignoreEos?: boolean;
  /** Scheduling priority: lower runs first; default 0. */
  priority?: number;
  /** Caller's id, echoed in the finish event and in the router's logs (at most 128 characters). */
  clientRequestId?: string;
}

type ProtoGenerateRequest = MessageInitShape<typeof inferencev1.GenerateRequestSchema>;
type ProtoSampling = MessageInitShape<typeof inferencev1.SamplingParamsSchema>;

const UINT32_MAX = 0xffff_ffff;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT64_MAX = 2n ** 64n - 1n;
/** The largest finite float32 (temperature and top_p travel as float32). */
const FLOAT32_MAX = 3.4028234663852886e38;

/** The SDK's own refusal, shaped like the server's: one field violation. */
function refuse(field: string, rule: string): InvalidArgumentError {
  return new InvalidArgumentError(`${field}: ${rule}`, { fieldViolations: [{ field, description: rule }] });
}

function uint32(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw refuse(field, `must be an integer in [0, ${UINT32_MAX}], got ${value}`);
  return value;
}

/** A number the float32 wire type can carry; NaN and ±Infinity can (the server refuses them by its own rules). */
function float32(field: string, value: number): number {
  if (typeof value !== "number") throw refuse(field, `must be a number, got ${typeof value}`);
  if (Number.isFinite(value) && Math.abs(value) > FLOAT32_MAX) throw refuse(field, `must be at most ${FLOAT32_MAX} in magnitude (the largest float32), got ${value}`);
  return value;
}

function uint32List(field: string, values: readonly number[]): number[] {
  return values.map((value, i) => uint32(`${field}[${i}]`, value));
}

function uint64(field: string, value: bigint | number): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) throw refuse(field, `must be a safe integer or a bigint, got ${value}`);
  const big = BigInt(value);
  if (big < 0n || big > UINT64_MAX) throw refuse(field, `must be in [0, 2^64 - 1], got ${big}`);
  return big;
}

function samplingOf(request: GenerateRequest): ProtoSampling {
  const sampling: ProtoSampling = {};
  if (request.maxTokens !== undefined) sampling.maxTokens = uint32("sampling.max_tokens", request.maxTokens);
  if (request.temperature !== undefined) sampling.temperature = float32("sampling.temperature", request.temperature);
  if (request.topP !== undefined) sampling.topP = float32("sampling.top_p", request.topP);
  if (request.topK !== undefined) sampling.topK = uint32("sampling.top_k", request.topK);
  if (request.seed !== undefined) sampling.seed = uint64("sampling.seed", request.seed);
  if (request.stop !== undefined) sampling.stop = [...request.stop];
  if (request.stopTokenIds !== undefined) sampling.stopTokenIds = uint32List("sampling.stop_token_ids", request.stopTokenIds);
  if (request.logprobs !== undefined) sampling.logprobs = uint32("sampling.logprobs", request.logprobs);
  if (request.ignoreEos !== undefined) sampling.ignoreEos = request.ignoreEos;
  return sampling;
}

/**
 * The wire request. `clientRequestId` (the call's `requestId` option, which
 * wins over the request's own field) fills client_request_id.
 */
export function toProtoRequest(request: GenerateRequest, clientRequestId: string | undefined): ProtoGenerateRequest {
  let prompt: ProtoGenerateRequest["prompt"];
  if (typeof request.prompt === "string") prompt = { case: "text", value: request.prompt };
  else if (Array.isArray(request.prompt)) prompt = { case: "tokenIds", value: { ids: uint32List("token_ids.ids", request.prompt) } };
  else throw refuse("prompt", "must be a string or an array of token ids");
  if (request.priority !== undefined && (!Number.isInteger(request.priority) || request.priority < INT32_MIN || request.priority > INT32_MAX)) {
    throw refuse("priority", `must be an int32, got ${request.priority}`);
  }
  return {
    model: request.model,
    prompt,
    sampling: samplingOf(request),
    clientRequestId: clientRequestId ?? request.clientRequestId ?? "",
    priority: request.priority ?? 0,
  };
}
