/**
 * A request body as JSON. Fastify reads the body and enforces the size limit
 * (`bodyLimit`: Content-Length before reading, the bytes received while
 * reading); this is the parser fastify calls for every content type (today's
 * door never looked at Content-Type, so `curl -d` without `-H` still works).
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
  const text = body.toString("utf8");
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
