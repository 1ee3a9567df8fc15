/**
 * The one error the HTTP door sends: OpenAI's `{error: {message, type, param,
 * code}}` body with its HTTP status (and headers such as Retry-After or Allow).
 * Everything thrown below the door is turned into one of these once, by
 * `toHttpError` (to-http-error.ts); handlers may also throw it directly for
 * rules only the HTTP API has (`n` must be 1, a body that is not JSON).
 */

/** OpenAI's error `type` values this server uses. */
export type OpenAiErrorType = "invalid_request_error" | "authentication_error" | "rate_limit_error" | "server_error" | "timeout_error";

export interface OpenAiErrorBody {
  error: { message: string; type: OpenAiErrorType; param: string | null; code: string | null };
}

export class OpenAiError extends Error {
  override readonly name = "OpenAiError";

  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A 400 naming the request field at fault. */
  static invalid(param: string | null, message: string, code: string | null = null): OpenAiError {
    return new OpenAiError(400, message, "invalid_request_error", param, code);
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
