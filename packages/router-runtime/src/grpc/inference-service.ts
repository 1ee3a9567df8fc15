/**
 * sigmaserve.v1.InferenceService: auth → admission → normalize → route and relay.
 *
 * Generate's response headers carry `x-request-id`, the router-assigned request
 * id (the one in the router's logs and traces, and in the finish), sent before
 * the first message so a client can log it before the first token arrives. A
 * stream that failed after its first token ends with its finish
 * (FINISH_REASON_ERROR, usage so far) and then a non-OK status: UNAVAILABLE or
 * INTERNAL (StreamFailedError in ../errors.ts), never OK.
 */
import { create } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { inferencev1, type HandlerContext, type ServiceImpl } from "@sigmaserve/proto";
import type { RequestPipeline } from "../request-pipeline.js";
import { checkModel, modelLimits } from "../generate/normalize-request.js";

/** Response header naming the router-assigned request id (the SDK sends the caller's own as the request header of the same name). */
export const REQUEST_ID_METADATA = "x-request-id";

/** Sends the response headers with the request id (grpc-js sends headers once; later calls are no-ops). */
function sendRequestId(context: HandlerContext, requestId: string): void {
  const metadata = new Metadata();
  metadata.set(REQUEST_ID_METADATA, requestId);
  context.sendHeaders(metadata);
}

export function inferenceServiceImpl(pipeline: RequestPipeline): ServiceImpl<typeof inferencev1.InferenceService> {
  return {
    async *generate(request, context) {
      const tenant = pipeline.apiKeys.authenticate(context.metadata.get("authorization")[0]?.toString());
      const events = pipeline.generate(request, tenant, context.signal);
      // The headers go once, before the first message (a Metadata per chunk cost as much as the chunk's relay).
      let headersSent = false;
      for await (const event of events) {
        if (event.kind === "chunk") {
          if (!headersSent && event.requestId !== undefined) {
            sendRequestId(context, event.requestId);
            headersSent = true;
          }
          yield create(inferencev1.GenerateResponseSchema, { event: { case: "chunk", value: event.chunk } });
          continue;
        }
        if (!headersSent) sendRequestId(context, event.finish.requestId);
        yield create(inferencev1.GenerateResponseSchema, { event: { case: "finish", value: event.finish } });
        // NOTE: the finish goes first (clients read the usage from it), then the status names the cause.
        if (event.failure !== undefined) throw event.failure;
      }
    },

    async tokenize(request, context) {
      pipeline.apiKeys.authenticate(context.metadata.get("authorization")[0]?.toString());
      checkModel(request.model, pipeline.pool);
      const worker = pipeline.pool.list().find((w) => w.info.model?.id === request.model);
      const tokenIds = await pipeline.tokenizers.encode(pipeline.tokenizers.current(request.model, pipeline.pool), request.text, modelLimits(request.model, pipeline.pool), "text", { addSpecialTokens: request.addSpecialTokens });
      return { tokenIds, maxContextTokens: worker?.info.model?.maxContextTokens ?? 0 };
    },

    async listModels(_request, context) {
      pipeline.apiKeys.authenticate(context.metadata.get("authorization")[0]?.toString());
      return { models: pipeline.listModels() };
    },
  };
}
