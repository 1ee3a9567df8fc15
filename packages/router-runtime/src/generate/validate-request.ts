/**
 * The public GenerateRequest's rules, checked by the router before it admits
 * or routes anything: a bad field costs no queue slot and no worker call, and
 * can never be taken for a worker failure. Every bad field is reported at once
 * (a BadRequest holds a list), by its path of proto field names in the public
 * request (`sampling.top_p`, `token_ids.ids[3]`, `text`; `prompt` names the
 * oneof when neither form is set); the first bad element of a list stands for
 * the rest.
 *
 * The rules and their wording are the worker's (the engine's
 * resolveSamplingParams and the worker's validate-generate), which stays
 * authoritative: a rule only the worker knows (its own max_tokens limit) still
 * comes back from it as a BadRequest. NOTE: float fields must also fit the
 * wire's float32. Over HTTP a JSON number such as 1e300 passes every range
 * rule, and used to fail only when the router serialised the worker request.
 */
import type { FieldViolation, inferencev1 } from "@sigmaserve/proto";

/** Most stop strings a request may carry (inference.proto, SamplingParams.stop). */
export const MAX_STOP_STRINGS = 16;
/** Most top alternatives per token (inference.proto, SamplingParams.logprobs and prompt_logprobs). */
export const MAX_LOGPROBS = 20;
/** max_tokens of a request that leaves it unset (inference.proto, SamplingParams.max_tokens): the bound of min_tokens then. */
export const DEFAULT_MAX_TOKENS = 16;
/** The largest finite float32, the wire type of temperature and top_p. */
export const FLOAT32_MAX = 3.4028234663852886e38;
const U32_MAX = 0xffff_ffff;
const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;
const U64_LIMIT = 1n << 64n;
/** Longest client_request_id accepted, characters. */
export const MAX_CLIENT_REQUEST_ID_LENGTH = 128;

/** What the router knows of the model from its workers' registry entries; 0 means unknown (the rule is left to the worker). */
export interface ModelLimits {
  vocabSize: number;
  maxContextTokens: number;
}

type Violations = FieldViolation[];

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= U32_MAX;
}

function checkU32(out: Violations, field: string, value: number): boolean {
  if (isU32(value)) return true;
  out.push({ field, description: `must be an integer in [0, ${U32_MAX}], got ${value}` });
  return false;
}

/** The first id outside [0, vocabSize), reported as `field[i]`. */
function checkTokenIds(out: Violations, field: string, ids: readonly number[], vocabSize: number): void {
  const i = ids.findIndex((id) => !isU32(id) || (vocabSize > 0 && id >= vocabSize));
  if (i < 0) return;
  const rule = isU32(ids[i]!) ? `${ids[i]} is outside the vocabulary [0, ${vocabSize})` : `must be an integer in [0, ${U32_MAX}], got ${ids[i]}`;
  out.push({ field: `${field}[${i}]`, description: rule });
}

function checkTemperature(out: Violations, value: number | undefined): void {
  if (value === undefined) return;
  const field = "sampling.temperature";
  if (!Number.isFinite(value)) out.push({ field, description: `must be a finite number, got ${value}` });
  else if (value < 0) out.push({ field, description: `must be >= 0, got ${value}` });
  else if (value > FLOAT32_MAX) out.push({ field, description: `must be at most ${FLOAT32_MAX} (the largest float32), got ${value}` });
}

/** Violations of the sampling fields, in proto field order. */
export function samplingViolations(sampling: inferencev1.SamplingParams | undefined, limits: ModelLimits): Violations {
  const out: Violations = [];
  if (sampling === undefined) return out;
  // The proto makes max_tokens optional: unset takes the default; an explicit 0 is a scoring request (nothing
  // sampled), which needs prompt_logprobs (nothing else would come back), and a mistake otherwise.
  if (sampling.maxTokens !== undefined && checkU32(out, "sampling.max_tokens", sampling.maxTokens) && sampling.maxTokens === 0 && sampling.promptLogprobs === undefined) {
    out.push({ field: "sampling.max_tokens", description: "must be at least 1, got 0 (0 is allowed only with sampling.prompt_logprobs set)" });
  }
  checkTemperature(out, sampling.temperature);
  // NOTE: written as a negated range so that NaN fails too; (0, 1] lies inside float32.
  if (sampling.topP !== undefined && !(sampling.topP > 0 && sampling.topP <= 1)) out.push({ field: "sampling.top_p", description: `must be in (0, 1], got ${sampling.topP}` });
  checkU32(out, "sampling.top_k", sampling.topK);
  const seed = sampling.seed;
  if (seed !== undefined && (typeof seed !== "bigint" || seed < 0n || seed >= U64_LIMIT)) out.push({ field: "sampling.seed", description: `must be an integer in [0, 2^64), got ${String(seed)}` });
  if (sampling.stop.length > MAX_STOP_STRINGS) out.push({ field: "sampling.stop", description: `must hold at most ${MAX_STOP_STRINGS} strings, got ${sampling.stop.length}` });
  // An empty stop string would match before the first token and end every request at once.
  const empty = sampling.stop.findIndex((s) => s.length === 0);
  if (empty >= 0) out.push({ field: `sampling.stop[${empty}]`, description: "must not be empty" });
  checkTokenIds(out, "sampling.stop_token_ids", sampling.stopTokenIds, limits.vocabSize);
  if (sampling.logprobs !== undefined && checkU32(out, "sampling.logprobs", sampling.logprobs) && sampling.logprobs > MAX_LOGPROBS) {
    out.push({ field: "sampling.logprobs", description: `must be at most ${MAX_LOGPROBS}, got ${sampling.logprobs}` });
  }
  if (sampling.promptLogprobs !== undefined && checkU32(out, "sampling.prompt_logprobs", sampling.promptLogprobs) && sampling.promptLogprobs > MAX_LOGPROBS) {
    out.push({ field: "sampling.prompt_logprobs", description: `must be at most ${MAX_LOGPROBS}, got ${sampling.promptLogprobs}` });
  }
  // NOTE: the worker caps min_tokens at max_tokens (a prefill stage asks it for one token); the public rule refuses it.
  const maxTokens = sampling.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (checkU32(out, "sampling.min_tokens", sampling.minTokens) && isU32(maxTokens) && sampling.minTokens > maxTokens) {
    out.push({ field: "sampling.min_tokens", description: `must be at most max_tokens (${maxTokens}${sampling.maxTokens === undefined ? ", the default" : ""}), got ${sampling.minTokens}` });
  }
  const penalty = sampling.repetitionPenalty;
  if (penalty !== undefined && !(penalty > 0 && penalty <= FLOAT32_MAX)) {
    out.push({ field: "sampling.repetition_penalty", description: `must be a finite number > 0, got ${penalty}` });
  }
  if (!(sampling.minP >= 0 && sampling.minP <= 1)) out.push({ field: "sampling.min_p", description: `must be in [0, 1], got ${sampling.minP}` });
  return out;
}

/**
 * Violations of everything that can be checked before tokenizing: the
 * prompt's presence and token ids, sampling, client_request_id, priority.
 * The model is checked before (checkModel), the context after (contextViolations).
 */
export function requestViolations(request: inferencev1.GenerateRequest, limits: ModelLimits): Violations {
  const out: Violations = [];
  switch (request.prompt.case) {
    case "text":
      if (request.prompt.value === "") out.push({ field: "text", description: "must not be empty" });
      break;
    case "tokenIds":
      if (request.prompt.value.ids.length === 0) out.push({ field: "token_ids.ids", description: "must not be empty" });
      checkTokenIds(out, "token_ids.ids", request.prompt.value.ids, limits.vocabSize);
      break;
    default:
      out.push({ field: "prompt", description: "set either text or token_ids" });
  }
  out.push(...samplingViolations(request.sampling, limits));
  if (request.clientRequestId.length > MAX_CLIENT_REQUEST_ID_LENGTH) {
    out.push({ field: "client_request_id", description: `must be at most ${MAX_CLIENT_REQUEST_ID_LENGTH} characters, got ${request.clientRequestId.length}` });
  }
  if (!(Number.isInteger(request.priority) && request.priority >= I32_MIN && request.priority <= I32_MAX)) {
    out.push({ field: "priority", description: `must be an int32, got ${request.priority}` });
  }
  return out;
}

/** Whether the prompt (already tokenized) and max_tokens fit the model's context; `promptField` is the field the client sent (`text`, `token_ids`). */
export function contextViolations(promptTokens: number, maxTokens: number | undefined, limits: ModelLimits, promptField: string): Violations {
  const context = limits.maxContextTokens;
  if (context <= 0) return [];
  if (promptTokens >= context) return [{ field: promptField, description: `${promptTokens} prompt tokens leave no room in the context of ${context} tokens` }];
  if (maxTokens !== undefined && promptTokens + maxTokens > context) {
    return [{ field: "sampling.max_tokens", description: `${maxTokens} plus the ${promptTokens} prompt tokens exceed the context of ${context} tokens` }];
  }
  return [];
}
