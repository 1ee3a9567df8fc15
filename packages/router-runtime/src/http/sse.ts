/**
 * Server-sent events as OpenAI streams them: a 200 with
 * `Content-Type: text/event-stream`, then frames of exactly
 * `data: <json>\n\n`, ended by `data: [DONE]\n\n`. No `event:` or `id:`
 * lines, no comments, so a client that splits on "\n\n" and strips "data: "
 * reads every frame.
 *
 * Writes honour back-pressure: when the socket buffer is full, `send` waits
 * for 'drain' (or for the client to go away), so a slow reader slows the
 * relay instead of growing the router's memory. Once the client is gone every
 * write is a no-op; the request's AbortSignal has already cancelled the
 * worker call.
 */
import type { ServerResponse } from "node:http";
import type { OpenAiError } from "./openai-error.js";

export const SSE_DONE_FRAME = "data: [DONE]\n\n";

export class SseStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      // Proxies such as nginx would otherwise buffer the stream.
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
  }

  /** False once the client has gone (or the stream ended). */
  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** Sends one `data: <json>` frame. */
  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends an error that happened after the stream began, as OpenAI does: `data: {"error": {...}}`. */
  async sendError(error: OpenAiError): Promise<void> {
    await this.send(error.toBody());
  }

  /** Sends `data: [DONE]` and ends the response. */
  async done(): Promise<void> {
    await this.write(SSE_DONE_FRAME);
    if (this.open) this.res.end();
  }

  private async write(frame: string): Promise<void> {
    if (!this.open) return;
    if (this.res.write(frame)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.once("drain", done);
      this.res.once("close", done);
    });
  }
}
