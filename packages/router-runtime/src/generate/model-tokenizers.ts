/**
 * The router's tokenizer and chat template of each model, got from the
 * workers that serve it. A worker's registry entry names its tokenizer kind
 * (ModelSummary.tokenizer) and the SHA-256 of its tokenizer files
 * (WorkerInfo.tokenizer_sha256); the files themselves (a real tokenizer.json
 * is megabytes, more than a registry entry holds) come from one worker of the
 * model over gRPC (WorkerService.GetTokenizer), once per (model id, hash):
 *
 * - kind "byte": the built-in `ByteTokenizer` and the built-in chat template;
 *   nothing is fetched.
 * - otherwise: the worker's tokenizer.json (+ tokenizer_config.json), built
 *   with `tokenizerFromDescription`, and its `chat_template` when it has one.
 *   The bytes are checked against the hash the registry announced; workers
 *   are tried in turn until one answers.
 *
 * `load` is the async door (the chat endpoint awaits it). `get` is the
 * synchronous one the pipeline tokenizes with: it answers from the cache, and
 * on a miss starts the fetch and throws `NoWorkerError` (503, retry) so a
 * request never blocks on it. A registry made with `{ pool }` fetches as
 * soon as a worker of a new model joins, so a miss is rare; one made without
 * starts watching the pool at its first use.
 */
import { createHash } from "node:crypto";
import { ByteTokenizer, tokenizerFromDescription, type Tokenizer } from "@sigmaserve/model/tokenizer";
import { InvalidRequestError, NoWorkerError } from "../errors.js";
import { ChatTemplate, type ChatTemplateTokens } from "../http/chat-template.js";
import type { PooledWorker, WorkerPool } from "../workers/worker-pool.js";
import { checkPromptBytes } from "./encode-prompt.js";
import { OFFLOAD_MIN_CHARS, TokenizeThread, type TokenizerFiles } from "./tokenize-thread.js";
import type { ModelLimits } from "./validate-request.js";

/** How long one GetTokenizer call may take, ms (a tokenizer.json is megabytes). */
export const DEFAULT_TOKENIZER_FETCH_TIMEOUT_MS = 30_000;

export interface ModelTokenizer {
  readonly tokenizer: Tokenizer;
  /** The model's own chat template; undefined: the router's built-in one applies. */
  readonly chatTemplate: ChatTemplate | undefined;
  /** The files it was built from and their key (model and hash), for the tokenizer thread; absent for built-in ones. */
  readonly files?: { readonly key: string } & TokenizerFiles;
}

export interface TokenizerRegistryOptions {
  /** Watch this pool from the start: fetch a model's tokenizer when its first worker joins. */
  readonly pool?: WorkerPool;
  readonly fetchTimeoutMs?: number;
}

const BYTE: ModelTokenizer = { tokenizer: new ByteTokenizer(), chatTemplate: undefined };

export class TokenizerRegistry {
  readonly #overrides = new Map<string, Tokenizer>();
  /** Keyed by `${model}\0${sha256}`. */
  readonly #loaded = new Map<string, ModelTokenizer>();
  readonly #loading = new Map<string, Promise<ModelTokenizer>>();
  readonly #watched = new WeakSet<WorkerPool>();
  readonly #fetchTimeoutMs: number;
  readonly #thread = new TokenizeThread();

  constructor(options: TokenizerRegistryOptions = {}) {
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_TOKENIZER_FETCH_TIMEOUT_MS;
    if (options.pool !== undefined) this.#watch(options.pool);
  }

  /** Pins a model's tokenizer (tests, a router given one explicitly); it wins over the workers'. */
  set(model: string, tokenizer: Tokenizer): void {
    this.#overrides.set(model, tokenizer);
  }

  /** The model's tokenizer, now. Throws NoWorkerError (503) while it is still being fetched. */
  get(model: string, pool: WorkerPool): Tokenizer {
    return this.current(model, pool).tokenizer;
  }

  /** The model's tokenizer and template, now. Throws NoWorkerError (503) while they are still being fetched. */
  current(model: string, pool: WorkerPool): ModelTokenizer {
    const pinned = this.#overrides.get(model);
    if (pinned !== undefined) return { tokenizer: pinned, chatTemplate: undefined };
    this.#watch(pool);
    const source = sourceOf(model, pool);
    if (source.kind === "byte") return BYTE;
    const hit = this.#loaded.get(key(model, source.sha256));
    if (hit !== undefined) return hit;
    // The failure reaches whoever awaits load(); this caller is told to retry.
    this.load(model, pool).catch(() => {});
    throw new NoWorkerError(`the tokenizer of model "${model}" is being fetched from its workers; retry in a moment, or send token_ids`);
  }

  /**
   * A prompt's token ids, its size bounded by the context first (encode-prompt.ts): a long text is encoded
   * on the tokenizer thread (tokenize-thread.ts), so it never holds the event loop.
   */
  async encode(loaded: ModelTokenizer, text: string, limits: Pick<ModelLimits, "maxContextTokens">, field: string, options: { addSpecialTokens: boolean }): Promise<number[]> {
    checkPromptBytes(text, loaded.tokenizer, limits, field);
    if (text.length < OFFLOAD_MIN_CHARS || loaded.files === undefined) return loaded.tokenizer.encode(text, options);
    return this.#thread.encode(loaded.files.key, loaded.files, text, options);
  }

  /** Stops the tokenizer thread. */
  async close(): Promise<void> {
    await this.#thread.close();
  }

  /** The model's tokenizer and chat template, fetched from a worker when not cached. */
  async load(model: string, pool: WorkerPool): Promise<ModelTokenizer> {
    const pinned = this.#overrides.get(model);
    if (pinned !== undefined) return { tokenizer: pinned, chatTemplate: undefined };
    this.#watch(pool);
    const source = sourceOf(model, pool);
    if (source.kind === "byte") return BYTE;
    const k = key(model, source.sha256);
    const hit = this.#loaded.get(k);
    if (hit !== undefined) return hit;
    let loading = this.#loading.get(k);
    if (loading === undefined) {
      loading = this.#fetch(model, source.sha256, source.workers).then((loaded) => {
        this.#loaded.set(k, loaded);
        this.#prune(model, pool);
        return loaded;
      });
      loading.finally(() => this.#loading.delete(k)).catch(() => {});
      this.#loading.set(k, loading);
    }
    return loading;
  }

  async #fetch(model: string, sha256: string, workers: readonly PooledWorker[]): Promise<ModelTokenizer> {
    const failures: string[] = [];
    for (const worker of workers) {
      let response;
      try {
        response = await worker.client.getTokenizer({}, { timeoutMs: this.#fetchTimeoutMs });
      } catch (err) {
        failures.push(`${worker.id}: ${(err as Error).message}`);
        continue;
      }
      const got = createHash("sha256").update(response.tokenizerJson).update(new Uint8Array([0])).update(response.tokenizerConfigJson).digest("hex");
      if (got !== sha256) {
        failures.push(`${worker.id}: its files hash to ${got}, its registry entry says ${sha256}`);
        continue;
      }
      // A file that does not build is the model's fault, not the worker's: no use asking another.
      const built = buildModelTokenizer(model, worker.id, response.tokenizerJson, response.tokenizerConfigJson);
      return { ...built, files: { key: key(model, sha256), tokenizerJson: response.tokenizerJson, tokenizerConfigJson: response.tokenizerConfigJson } };
    }
    throw new NoWorkerError(`cannot fetch the tokenizer of model "${model}" from any worker (${failures.join("; ")})`);
  }

  /** Forgets tokenizers of `model` whose hash no worker reports any more. */
  #prune(model: string, pool: WorkerPool): void {
    const live = new Set(pool.list().filter((w) => w.info.model?.id === model).map((w) => key(model, w.info.tokenizerSha256)));
    for (const k of this.#loaded.keys()) if (k.startsWith(`${model}\0`) && !live.has(k)) this.#loaded.delete(k);
  }

  /** Fetches ahead: every model already in the pool, then each model whose worker joins. */
  #watch(pool: WorkerPool): void {
    if (this.#watched.has(pool)) return;
    this.#watched.add(pool);
    const prefetch = (worker: PooledWorker): void => {
      const model = worker.info.model;
      if (model === undefined || model.tokenizer === "byte" || this.#overrides.has(model.id)) return;
      this.load(model.id, pool).catch(() => {});
    };
    pool.onChange((event) => {
      if (event.kind === "added") prefetch(event.worker);
    });
    for (const worker of pool.list()) prefetch(worker);
  }
}

function key(model: string, sha256: string): string {
  return `${model}\0${sha256}`;
}

/** The model's tokenizer kind and hash, as its first worker reports them, and the workers that report the same. */
function sourceOf(model: string, pool: WorkerPool): { kind: string; sha256: string; workers: PooledWorker[] } {
  const serving = pool.list().filter((w) => w.info.model?.id === model);
  const first = serving[0];
  if (first === undefined) throw InvalidRequestError.of("text", `model "${model}" has no tokenizer on this router (no worker serves it); send token_ids`);
  const kind = first.info.model?.tokenizer ?? "";
  const sha256 = first.info.tokenizerSha256;
  if (kind !== "byte" && sha256 === "") {
    throw InvalidRequestError.of("text", `model "${model}" has a "${kind}" tokenizer its workers do not serve (workers from before GetTokenizer); send token_ids`);
  }
  return { kind, sha256, workers: serving.filter((w) => w.info.tokenizerSha256 === sha256) };
}

/** The tokenizer and chat template of the files a worker sent. */
export function buildModelTokenizer(model: string, workerId: string, tokenizerJson: Uint8Array, tokenizerConfigJson: Uint8Array): ModelTokenizer {
  const source = `tokenizer.json of model "${model}" (from worker ${workerId})`;
  const configSource = `tokenizer_config.json of model "${model}" (from worker ${workerId})`;
  const decoder = new TextDecoder();
  const description = parseJson(decoder.decode(tokenizerJson), source);
  const config = tokenizerConfigJson.length === 0 ? undefined : parseJson(decoder.decode(tokenizerConfigJson), configSource);
  const tokenizer = tokenizerFromDescription(description, { source, configSource, ...(config === undefined ? {} : { tokenizerConfig: config }) });
  const templateSource = chatTemplateOf(config);
  if (templateSource === undefined) return { tokenizer, chatTemplate: undefined };
  const tokens: ChatTemplateTokens = { bosToken: tokenText(config?.["bos_token"]), eosToken: tokenText(config?.["eos_token"]) };
  try {
    return { tokenizer, chatTemplate: new ChatTemplate(templateSource, tokens) };
  } catch (err) {
    throw new Error(`${configSource}: chat_template does not parse: ${(err as Error).message}`, { cause: err });
  }
}

function parseJson(text: string, source: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${source}: is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  throw new Error(`${source}: must hold a JSON object`);
}

/** `chat_template`: a string, or (newer files) a list of `{name, template}` of which "default" is the chat one. */
function chatTemplateOf(config: Record<string, unknown> | undefined): string | undefined {
  const value = config?.["chat_template"];
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.find((t: { name?: unknown }) => t?.name === "default") as { template?: unknown } | undefined;
    if (typeof named?.template === "string") return named.template;
  }
  return undefined;
}

/** A special token's text: a string or an AddedToken object's `content`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") return (value as { content: string }).content;
  return undefined;
}
