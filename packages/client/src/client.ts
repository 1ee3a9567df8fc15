/**
 * `createClient`: the SDK's front door, one channel to a sigmaserve router.
 *
 * Built on the adapter's typed `createGrpcClient`; this layer adds what a
 * public client needs on top: plain TS objects in and out, the API key on
 * every call, one deadline per call across its retries, the retry policy,
 * and typed errors. The channel connects lazily, on the first call.
 */
import { createGrpcClient, inferencev1, type ServiceClient } from "@sigmaserve/proto";
import { attemptOptions, callScope, type CallOptions, type CallScope } from "./call.js";
import { gather, type Completion } from "./complete.js";
import { channelSecurity } from "./credentials.js";
import { SigmaserveError } from "./errors.js";
import type { GenerateEvent } from "./events.js";
import { generateEvents } from "./generate.js";
import { resolveOptions, type ClientOptions } from "./options.js";
import { toProtoRequest, type GenerateRequest } from "./request.js";
import { withRetry } from "./retry.js";

/** Options of tokenize(). */
export interface TokenizeOptions extends CallOptions {
  /** Prepend BOS (and whatever else the tokenizer adds), as generate does for text prompts. Default false. */
  addSpecialTokens?: boolean;
}

/** The token ids of a text. */
export interface TokenizeResult {
  tokenIds: number[];
  /** The model's context length, tokens. */
  maxContextTokens: number;
}

/** The shape of one served model. */
export interface ModelInfo {
  id: string;
  numLayers: number;
  hiddenSize: number;
  numQueryHeads: number;
  /** n_k; DiffQKV has n_k < n_v. */
  numKeyHeads: number;
  numValueHeads: number;
  headDim: number;
  /** Hidden width of the augmented-Q MLP; 0 means none. */
  augQSize: number;
  vocabSize: number;
  maxContextTokens: number;
  /** Tokenizer kind, e.g. "byte" or "hf". */
  tokenizer: string;
  /** Workers serving the model right now. */
  readyWorkers: number;
}

export interface SigmaserveClient {
  /** Streams a completion as events: chunks, then exactly one finish. Break out of the loop to cancel. */
  generate(request: GenerateRequest, options?: CallOptions): AsyncIterable<GenerateEvent>;
  /** Runs generate to the end and returns the whole completion. */
  complete(request: GenerateRequest, options?: CallOptions): Promise<Completion>;
  /** The model's token ids for `text`. */
  tokenize(model: string, text: string, options?: TokenizeOptions): Promise<TokenizeResult>;
  /** The models the cluster serves, sorted by id. */
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  /** Closes the channel. Calls started afterwards reject with FAILED_PRECONDITION. */
  close(): void;
}

function modelInfo(summary: inferencev1.ModelSummary): ModelInfo {
  const { $typeName: _typeName, $unknown: _unknown, ...fields } = summary;
  return fields;
}

/** Opens a client to the router at `options.address`. Throws ClientOptionsError on a bad option. */
export function createClient(options: ClientOptions): SigmaserveClient {
  const resolved = resolveOptions(options);
  const security = channelSecurity(resolved.tls);
  const rpc: ServiceClient<typeof inferencev1.InferenceService> = createGrpcClient(inferencev1.InferenceService, resolved.address, {
    credentials: security.credentials,
    channelOptions: { ...resolved.channelOptions, ...security.channelOptions },
  });
  let closed = false;

  const scopeOf = (callOptions: CallOptions | undefined): CallScope => {
    if (closed) throw new SigmaserveError("FAILED_PRECONDITION", "the client is closed");
    return callScope(callOptions, resolved);
  };

  async function* generate(request: GenerateRequest, callOptions?: CallOptions): AsyncGenerator<GenerateEvent, void, undefined> {
    // Lazy like any generator: the call (and its deadline) starts on the first next().
    const scope = scopeOf(callOptions);
    yield* generateEvents(rpc.generate, () => toProtoRequest(request, callOptions?.requestId), resolved.retry, scope);
  }

  return {
    generate,
    complete: (request, callOptions) => gather(generate(request, callOptions)),
    async tokenize(model, text, tokenizeOptions) {
      const scope = scopeOf(tokenizeOptions);
      const request = { model, text, addSpecialTokens: tokenizeOptions?.addSpecialTokens ?? false };
      const response = await withRetry(resolved.retry, scope, () => rpc.tokenize(request, attemptOptions(scope)));
      return { tokenIds: [...response.tokenIds], maxContextTokens: response.maxContextTokens };
    },
    async listModels(callOptions) {
      const scope = scopeOf(callOptions);
      const response = await withRetry(resolved.retry, scope, () => rpc.listModels({}, attemptOptions(scope)));
      return response.models.map(modelInfo);
    },
    close() {
      closed = true;
      rpc.close();
    },
  };
}
