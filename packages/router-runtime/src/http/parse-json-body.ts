/**
 * A request body as JSON. Fastify reads the body and enforces the size limit
 * (`bodyLimit`: Content-Length before reading, the bytes received while
 * reading); this is the parser fastify calls for every content type. A body
 * must say it is JSON (application/json, or none said): text/plain and forms
 * are what a web page can POST to a local cluster cross-origin without a CORS
 * preflight, so they are refused with 415 (`curl -d` needs
 * `-H 'content-type: application/json'`, as for vLLM). A body that is not
 * valid UTF-8 is refused, never repaired.
 *
 * NOTE: fastify's own JSON parser is not used because its error is V8's text,
 * which on Node 20 names no position for an unexpected token; a client gets
 * "at line 1, column 35: Unexpected token \"}\"" from `parseJson` instead.
 */
import { OpenAiError } from "./openai-error.js";

/** Largest request body accepted, bytes (a long prompt as text or token ids fits easily). */
export const DEFAULT_MAX_BODY_BYTES = 4 * 2 ** 20;

/** The 413 for a body past the limit (fastify's `bodyLimit` finds it; this is what the client reads). */
export function tooLarge(maxBytes: number): OpenAiError {
  return new OpenAiError(413, `the request body is larger than the limit of ${maxBytes} bytes`, "invalid_request_error", null, "request_too_large");
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Offset of the first byte that breaks UTF-8 (bisecting with the strict decoder; only runs on the error path). */
function firstInvalidUtf8Offset(body: Buffer): number {
  let good = 0;
  let bad = body.length;
  // Invariant: body[0, good) decodes (possibly up to a cut character), body[0, bad) does not.
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(0, mid), { stream: true });
      good = mid;
    } catch {
      bad = mid;
    }
  }
  return good;
}

/** The media types a JSON body may come with; a browser can send text/plain or a form cross-origin without a preflight. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === "") return true;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** The 415 for a body that does not say it is JSON. */
export function notJson(contentType: string): OpenAiError {
  return new OpenAiError(415, `the request body must be sent as Content-Type: application/json, not ${JSON.stringify(contentType)}`, "invalid_request_error", null, "unsupported_media_type");
}

/** True when `prefix` is valid JSON or could become valid with more input (the parser ran out, it did not trip). */
function runsOut(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const message = (err as Error).message;
    if (message === "Unexpected end of JSON input") return true;
    const at = /at position (\d+)/.exec(message);
    return at !== null && Number(at[1]) >= prefix.length;
  }
}

/**
 * Where JSON.parse tripped, as a character offset. V8 names the position of
 * most errors but not of an unexpected token ("Unexpected token '}', ... is not
 * valid JSON"); then the offset is found by bisecting for the longest prefix
 * that is still valid so far, since a prefix that trips stays tripped as it
 * grows. Only runs on the error path: about log2(n) parses.
 */
export function jsonErrorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at !== null) return Number(at[1]);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (runsOut(text.slice(0, mid))) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastNewline = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: offset - lastNewline };
}

/**
 * Parses a body as JSON. A body that is empty or not valid JSON is a 400 with
 * `param: null` and a message that says where the parser stopped and why:
 * "the request body is not valid JSON at line 1, column 26: Unexpected token '}'".
 */
export function parseJson(body: Buffer): unknown {
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    // NOTE: refused rather than repaired: a U+FFFD put in place of the client's bytes would change its prompt unseen.
    throw OpenAiError.invalid(null, `the request body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(body)})`, "invalid_utf8");
  }
  if (text.trim() === "") throw OpenAiError.invalid(null, "the request body is empty; send a JSON object", "invalid_json");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const { line, column } = lineAndColumn(text, jsonErrorOffset(text, message));
    // V8's reason without its position and without the excerpt of the body it quotes.
    const reason = message
      .replace(/ (?:in JSON )?at position \d+.*$/s, "")
      .replace(/, (?:\.\.\.)?".*is not valid JSON$/s, "")
      .replace(/^Unexpected token '(.*)'$/s, (_, token: string) => `Unexpected token ${JSON.stringify(token)}`);
    throw OpenAiError.invalid(null, `the request body is not valid JSON at line ${line}, column ${column}: ${reason}`, "invalid_json");
  }
}
