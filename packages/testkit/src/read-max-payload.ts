/**
 * Reads `max_payload` from a NATS config file, so test servers enforce the
 * same message-size limit as deployments (infra/nats/nats.conf).
 *
 * This is not a general NATS config parser. It reads one top-level line,
 * `max_payload: <integer>[unit]` (`:` or `=` or a space before the value), and
 * applies nats-server 2.9's size units. Anything else on such a line is an error, not a guess.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { NatsConfigError } from "./errors.js";

/**
 * The deployment config, found from this module. src/ and dist/ sit at the
 * same depth (packages/testkit/{src,dist}), so the relative path works from both.
 */
export const DEFAULT_NATS_CONFIG_PATH = fileURLToPath(
  new URL("../../../infra/nats/nats.conf", import.meta.url),
);

/** nats-server's own default when a config sets no max_payload: 1 MiB. */
export const NATS_DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

/**
 * Size suffixes as nats-server 2.9 reads them (checked against /varz), case-insensitive.
 * NOTE: the trap: a bare `M` is decimal (2M = 2_000_000), while `MB`, `Mi` and `MiB`
 * are binary (2MB = 2_097_152).
 */
const SIZE_UNIT_BYTES: Readonly<Record<string, number>> = {
  "": 1,
  k: 1_000,
  kb: 1_024,
  ki: 1_024,
  kib: 1_024,
  m: 1_000_000,
  mb: 1_048_576,
  mi: 1_048_576,
  mib: 1_048_576,
  g: 1_000_000_000,
  gb: 1_073_741_824,
  gi: 1_073_741_824,
  gib: 1_073_741_824,
};

/** A top-level `max_payload` line; group 1 is the value (up to a comment or the end of the line). */
const MAX_PAYLOAD_LINE = /^max_payload(?:\s*[:=]\s*|\s+)(.*?)\s*[,;]?\s*(?:(?:#|\/\/).*)?$/;
const SIZE_VALUE = /^(\d+)([a-z]*)$/i;

/** Reads the config at `path` and returns its max_payload in bytes. */
export async function readMaxPayload(path: string = DEFAULT_NATS_CONFIG_PATH): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new NatsConfigError("cannot read the NATS config", { source: path, cause });
  }
  return parseMaxPayload(text, path);
}

/**
 * Returns the max_payload set by config `text`, in bytes, or nats-server's
 * default when the text sets none. `source` names the text in errors.
 */
export function parseMaxPayload(text: string, source = "<config text>"): number {
  const values: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    // Only unindented lines: the setting is top level, and nested blocks are indented.
    const match = MAX_PAYLOAD_LINE.exec(line);
    if (match?.[1] !== undefined) values.push(match[1]);
  }
  if (values.length === 0) return NATS_DEFAULT_MAX_PAYLOAD_BYTES;
  if (values.length > 1) {
    throw new NatsConfigError(`max_payload is set ${values.length} times; set it once`, { source });
  }
  const value = values[0] ?? "";
  const size = SIZE_VALUE.exec(value);
  const unitBytes = size ? SIZE_UNIT_BYTES[(size[2] ?? "").toLowerCase()] : undefined;
  if (!size || unitBytes === undefined) {
    throw new NatsConfigError(
      `max_payload ${JSON.stringify(value)} is not an integer with an optional size unit (e.g. 2MB)`,
      { source },
    );
  }
  const bytes = Number(size[1]) * unitBytes;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new NatsConfigError(`max_payload ${value} is not a positive byte count`, { source });
  }
  return bytes;
}
