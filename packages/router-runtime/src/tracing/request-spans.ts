/**
 * A request's SERVER span on the router, named by the GenAI semantic
 * conventions (`{gen_ai.operation.name} {gen_ai.request.model}`, e.g.
 * `chat sigma-tiny`) with their `gen_ai.request.*`, `gen_ai.response.*` and
 * `gen_ai.usage.*` attributes, and our own figures under `sigmaserve.*`.
 * Prompt and output text are recorded only when asked (`--trace-content`):
 * then `gen_ai.input.messages` and `gen_ai.output.messages` hold them
 * (message-content.ts); otherwise no span carries any text. Its children: `admission`
 * (the wait for a slot), then per attempt `route` and the worker call
 * (dispatch-spans.ts).
 */
import { inferencev1 } from "@sigmaserve/proto";
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from "@sigmaserve/telemetry";
import { outputMessages, promptInputMessages, type GenAiMessage } from "./message-content.js";

const tracer = trace.getTracer("sigmaserve-router");

/** gen_ai.operation.name: the HTTP chat door says chat; completions and gRPC Generate are text completions. */
export type GenAiOperation = "chat" | "text_completion";

export interface RequestSpan {
  /** The context to start the request's child spans in. */
  readonly ctx: Context;
  readonly span: Span;
  /** Adds a chunk's text to the output (kept only when content is recorded). */
  chunk(chunk: inferencev1.TokenChunk): void;
  /** Records the finish (reasons, usage, router figures). */
  finished(finish: inferencev1.GenerateFinish, replays: number): void;
  /** Records an error the request ended with. */
  failed(err: unknown): void;
  end(): void;
}

export interface RequestSpanOptions {
  /** Record prompt and output text (default false). */
  recordContent?: boolean;
  /** The prompt as the client sent it (the chat door's messages); default: the request's prompt as one user message. */
  inputMessages?: () => GenAiMessage[];
}

export function startRequestSpan(operation: GenAiOperation, request: inferencev1.GenerateRequest, tenantId: string, options: RequestSpanOptions = {}): RequestSpan {
  const sampling = request.sampling;
  const recordContent = options.recordContent === true;
  const span = tracer.startSpan(`${operation} ${request.model}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "gen_ai.operation.name": operation,
      "gen_ai.provider.name": "sigmaserve",
      "gen_ai.request.model": request.model,
      ...(sampling?.maxTokens === undefined ? {} : { "gen_ai.request.max_tokens": sampling.maxTokens }),
      ...(sampling?.temperature === undefined ? {} : { "gen_ai.request.temperature": sampling.temperature }),
      ...(sampling?.topP === undefined ? {} : { "gen_ai.request.top_p": sampling.topP }),
      ...(sampling === undefined || sampling.topK === 0 ? {} : { "gen_ai.request.top_k": sampling.topK }),
      ...(sampling?.seed === undefined ? {} : { "gen_ai.request.seed": Number(sampling.seed) }),
      ...((sampling?.stop.length ?? 0) === 0 ? {} : { "gen_ai.request.stop_sequences": sampling!.stop }),
      "sigmaserve.tenant": tenantId,
      ...(request.clientRequestId === "" ? {} : { "sigmaserve.client_request_id": request.clientRequestId }),
      ...(recordContent ? { "gen_ai.input.messages": JSON.stringify(options.inputMessages?.() ?? promptInputMessages(request.prompt)) } : {}),
    },
  });
  // The output so far, only while content is recorded and the span samples (an unsampled request keeps nothing).
  let output: string[] | undefined = recordContent && span.isRecording() ? [] : undefined;
  return {
    ctx: trace.setSpan(context.active(), span),
    span,
    chunk(chunk) {
      if (output !== undefined && chunk.textDelta !== "") output.push(chunk.textDelta);
    },
    finished(finish, replays) {
      const reason = inferencev1.FinishReason[finish.finishReason]?.toLowerCase() ?? String(finish.finishReason);
      if (output !== undefined) {
        span.setAttribute("gen_ai.output.messages", JSON.stringify(outputMessages(output.join(""), reason)));
        output = undefined;
      }
      span.setAttributes({
        "gen_ai.response.id": finish.requestId,
        "gen_ai.response.model": request.model,
        "gen_ai.response.finish_reasons": [reason],
        "gen_ai.usage.input_tokens": finish.usage?.promptTokens ?? 0,
        "gen_ai.usage.output_tokens": finish.usage?.completionTokens ?? 0,
        "sigmaserve.cached_tokens": finish.usage?.cachedPromptTokens ?? 0,
        "sigmaserve.router_ms": finish.timings?.routerMs ?? 0,
        "sigmaserve.ttft_ms": finish.timings?.ttftMs ?? 0,
        "sigmaserve.replays": replays,
      });
      if (finish.finishReason === inferencev1.FinishReason.ERROR) {
        span.setAttribute("error.type", "finish_error");
        span.setStatus({ code: SpanStatusCode.ERROR, message: finish.errorMessage });
      }
    },
    failed(err) {
      span.recordException(err as Error);
      span.setAttribute("error.type", (err as Error).name ?? "Error");
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    },
    end: () => span.end(),
  };
}

/** A span for the wait for an admission slot. */
export function startAdmissionSpan(parent: Context): Span {
  return tracer.startSpan("admission", { kind: SpanKind.INTERNAL }, parent);
}
