/**
 * Tokenizing off the event loop. A Hugging Face tokenizer encodes about a
 * megabyte of text per second here, on the router's one event loop: a long
 * prompt held every other stream for as long (issue 15: 3.9 MB stalled them
 * 2.1 s). Prompts of at least OFFLOAD_MIN_CHARS go to one worker thread that
 * holds its own copy of each model's tokenizer, built from the same files;
 * shorter ones are encoded in place, where a thread hop would cost more than
 * it saves. One thread, jobs in arrival order: long prompts wait for each
 * other, and never for the event loop (and it never for them).
 */
import { Worker } from "node:worker_threads";

/** Texts at least this long (UTF-16 code units) are encoded on the thread; about 20 ms of tokenizing. */
export const OFFLOAD_MIN_CHARS = 32_768;

/** A model's tokenizer files, as the registry fetched them. */
export interface TokenizerFiles {
  readonly tokenizerJson: Uint8Array;
  readonly tokenizerConfigJson: Uint8Array;
}

export interface TokenizeJob {
  id: number;
  /** Names the tokenizer (model and files' hash); the thread builds it once. */
  key: string;
  /** Sent with the first job of each key only. */
  files?: TokenizerFiles;
  text: string;
  addSpecialTokens: boolean;
}

export type TokenizeReply = { id: number; ids: Uint32Array; error?: undefined } | { id: number; error: string; ids?: undefined };

export class TokenizeThread {
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(ids: number[]): void; reject(err: Error): void }>();
  /** Keys whose files the thread has been sent. */
  readonly #sent = new Set<string>();

  /** The ids of `text` under the tokenizer `key` built from `files`. */
  encode(key: string, files: TokenizerFiles, text: string, options: { addSpecialTokens: boolean }): Promise<number[]> {
    const worker = this.#start();
    const id = this.#nextId++;
    const job: TokenizeJob = { id, key, text, addSpecialTokens: options.addSpecialTokens, ...(this.#sent.has(key) ? {} : { files }) };
    this.#sent.add(key);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref(); // held while a job is out, so a job is never dropped by an exiting process
      worker.postMessage(job);
    });
  }

  /** Stops the thread; jobs in flight fail. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#sent.clear();
    if (worker !== undefined) await worker.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(threadBody());
    worker.unref();
    worker.on("message", (reply: TokenizeReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.error !== undefined) pending.reject(new Error(`tokenizing on the tokenizer thread failed: ${reply.error}`));
      else pending.resolve(Array.from(reply.ids));
    });
    const fail = (err: Error): void => {
      if (this.#worker === worker) {
        this.#worker = undefined;
        this.#sent.clear();
      }
      for (const pending of this.#pending.values()) pending.reject(err);
      this.#pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the tokenizer thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/**
 * The thread's entry: the built tokenize-thread-worker.js; run from source (tests under tsx), a data: URL
 * module that registers tsx's loader in the thread first. NOTE: tsx's `--import` loader does not reach
 * worker threads (tsx issue 354), so the .ts body could not be loaded directly.
 */
function threadBody(): URL {
  if (!import.meta.url.endsWith(".ts")) return new URL("./tokenize-thread-worker.js", import.meta.url);
  const tsx = import.meta.resolve("tsx/esm/api");
  const body = new URL("./tokenize-thread-worker.ts", import.meta.url).href;
  return new URL(`data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(body)});`)}`);
}
