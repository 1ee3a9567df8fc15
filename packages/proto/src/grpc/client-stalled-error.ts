/**
 * Why a server stream's handler was stopped by the server itself: its client
 * read nothing for `stallMs` (bind-service.ts). The handler sees it as its
 * signal's reason; the client, which reads nothing, sees the stream end.
 */
export class ClientStalledError extends Error {
  override readonly name = "ClientStalledError";

  constructor(readonly stallMs: number) {
    super(`the client read nothing for ${stallMs} ms; the call is given up`);
  }
}
