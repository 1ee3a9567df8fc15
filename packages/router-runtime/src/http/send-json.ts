/** JSON responses of the HTTP door: UTF-8, with a length, bigints written as decimal strings. */
import type { ServerResponse } from "node:http";
import type { OpenAiError } from "./openai-error.js";

/** JSON.stringify replacer: uint64 fields (epochs, seeds) become strings, as in proto3 JSON. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body, bigintReplacer);
  res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: OpenAiError): void {
  sendJson(res, error.status, error.toBody(), error.headers);
}
