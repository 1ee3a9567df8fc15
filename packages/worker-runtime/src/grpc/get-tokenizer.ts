/**
 * WorkerService.GetTokenizer: the files of the worker's tokenizer, for a
 * router that tokenizes text prompts and renders chat templates itself.
 * A real tokenizer.json is megabytes, too big for a registry entry, so the
 * registry carries only their hash (WorkerInfo.tokenizer_sha256) and the
 * router fetches the bytes from one worker of the model when it first needs
 * them (router-runtime `generate/model-tokenizers.ts`).
 *
 * The files are read once at start-up, as loaded (a later edit on disk does
 * not change what this worker serves). A byte tokenizer sends no files and an
 * empty hash: the router has it built in.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { TOKENIZER_CONFIG_FILE_NAME, TOKENIZER_FILE_NAME, type Tokenizer } from "@sigmaserve/model/tokenizer";
import { workerv1 } from "@sigmaserve/proto";

export interface TokenizerFiles {
  readonly kind: string;
  readonly tokenizerJson: Uint8Array;
  readonly tokenizerConfigJson: Uint8Array;
  /** Hex SHA-256 of tokenizer.json, a NUL byte and tokenizer_config.json; "" for no files. */
  readonly sha256: string;
}

const EMPTY = new Uint8Array(0);

/** The hash WorkerInfo.tokenizer_sha256 documents. */
export function tokenizerFilesSha256(tokenizerJson: Uint8Array, tokenizerConfigJson: Uint8Array): string {
  return createHash("sha256").update(tokenizerJson).update(new Uint8Array([0])).update(tokenizerConfigJson).digest("hex");
}

/** The files of a loaded model's tokenizer: none for the byte tokenizer, else the model dir's own. */
export async function readTokenizerFiles(source: { preset: string } | { dir: string }, tokenizer: Tokenizer): Promise<TokenizerFiles> {
  if (tokenizer.kind === "byte" || !("dir" in source)) return { kind: tokenizer.kind, tokenizerJson: EMPTY, tokenizerConfigJson: EMPTY, sha256: "" };
  const tokenizerJson = new Uint8Array(await readFile(join(source.dir, TOKENIZER_FILE_NAME)));
  const tokenizerConfigJson = await readFile(join(source.dir, TOKENIZER_CONFIG_FILE_NAME)).then(
    (bytes) => new Uint8Array(bytes),
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return EMPTY;
      throw err;
    },
  );
  return { kind: tokenizer.kind, tokenizerJson, tokenizerConfigJson, sha256: tokenizerFilesSha256(tokenizerJson, tokenizerConfigJson) };
}

export function getTokenizerResponse(modelId: string, files: TokenizerFiles): workerv1.GetTokenizerResponse {
  return create(workerv1.GetTokenizerResponseSchema, {
    model: modelId,
    kind: files.kind,
    tokenizerJson: files.tokenizerJson,
    tokenizerConfigJson: files.tokenizerConfigJson,
    sha256: files.sha256,
  });
}
