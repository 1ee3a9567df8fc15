/**
 * How a key is held: its SHA-256 digest, never the key. The keys file may
 * give the digest itself as `sha256:<64 hex digits>`, so the file holds no
 * key a reader could present (`sigmaserve keys hash` prints that form).
 * NOTE: one unsalted SHA-256 is enough here: API keys are long random
 * strings, not passwords, so there is no dictionary to slow down.
 */
import { createHash } from "node:crypto";

/** Prefix of a key given as its digest in the keys file. */
export const API_KEY_DIGEST_PREFIX = "sha256:";

/** The 32-byte digest of a key as a client presents it. */
export function apiKeyDigest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** The keys file's form of a key: `sha256:<64 lowercase hex digits>`. */
export function hashApiKey(key: string): string {
  return `${API_KEY_DIGEST_PREFIX}${apiKeyDigest(key).toString("hex")}`;
}
