/**
 * Validates a parsed JSON body against a request schema and turns the first
 * problem into a 400 whose `param` is the field's path (`messages[0].content`)
 * and whose message names the field, the rule and what was sent.
 */
import type { z } from "zod";
import { OpenAiError } from "./openai-error.js";

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** `["messages", 0, "content"]` → `messages[0].content`; the empty path → null (the body itself). */
export function formatPath(path: readonly PathKey[]): string | null {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out === "" ? null : out;
}

function valueAt(body: unknown, path: readonly PathKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const MAX_SHOWN_CHARS = 60;

/** A short rendering of what the client sent, for the message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (value !== null && typeof value === "object") return "an object";
  const json = JSON.stringify(value);
  return json.length > MAX_SHOWN_CHARS ? `${json.slice(0, MAX_SHOWN_CHARS)}…` : json;
}

/**
 * The issue to report. A union that failed (`content` is neither a string nor
 * a list of parts) says only that; but when one branch got further than its
 * top level (an array of parts, one of which is wrong), its deeper issue is
 * the useful one: `messages[0].content[1].type: must be "text"`.
 */
function innermost(issue: Issue): Issue {
  if (issue.code !== "invalid_union") return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first !== undefined && first.path.length > 0 && (best === undefined || first.path.length > best.path.length)) best = first;
  }
  if (best === undefined) return issue;
  const nested = innermost(best);
  return { ...nested, path: [...issue.path, ...nested.path] } as Issue;
}

export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = innermost(result.error.issues[0]!);
  if (issue.code === "unrecognized_keys") {
    // A typo ("temprature") or a parameter this server does not have: refused, as OpenAI does, never ignored.
    const unknown = formatPath([...issue.path, issue.keys[0]!])!;
    throw OpenAiError.invalid(unknown, `${unknown}: is not a parameter of this request (misspelt, or not supported by this server)`, "unknown_parameter");
  }
  const param = formatPath(issue.path);
  const value = valueAt(body, issue.path);
  if (param === null) throw OpenAiError.invalid(null, `the request body ${issue.message}, got ${describeValue(value)}`);
  if (value === undefined) throw OpenAiError.invalid(param, `${param}: is required`);
  throw OpenAiError.invalid(param, `${param}: ${issue.message}, got ${describeValue(value)}`);
}
