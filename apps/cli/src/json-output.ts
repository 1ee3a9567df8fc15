/**
 * The CLI's JSON output is snake_case, as the HTTP API's bodies are: `{"finish_reason": ...}`, never
 * `finishReason`, whatever the SDK or the package that produced the object calls its fields.
 */

const snake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();

/** A deep copy with every object key in snake_case (arrays and values as they are; bigints as numbers while exact). */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  // NOTE: a 64-bit seed does not fit a JSON number exactly: past 2^53 it is written as a string.
  if (typeof value === "bigint") return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [snake(key), snakeCaseKeys(v)]));
}

/** One JSON document; `pretty` indents it (a report), else one line (NDJSON, a result). */
export function jsonText(value: unknown, pretty = false): string {
  return `${JSON.stringify(snakeCaseKeys(value), null, pretty ? 2 : undefined)}\n`;
}
