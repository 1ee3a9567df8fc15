/**
 * Whether spans may record prompt and output text. Never by default: text is
 * what users typed and what the model said, and trace backends are rarely
 * cleared for it. A process opts in with its own flag (`--trace-content`) or
 * with the variable the OpenTelemetry GenAI instrumentations read,
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: `true` (the older
 * form) or a mode that puts content on spans (`SPAN_ONLY`, `SPAN_AND_EVENT`).
 * `NO_CONTENT`, `EVENT_ONLY` (we emit no log events), `false` or anything
 * else keeps text off.
 */
export const CAPTURE_MESSAGE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

const ON = new Set(["true", "span_only", "span_and_event"]);

export function captureMessageContentFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return ON.has((env[CAPTURE_MESSAGE_CONTENT_ENV] ?? "").trim().toLowerCase());
}
