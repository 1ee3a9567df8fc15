/** sigmaserve.v1.InferenceService: auth → admission → normalize → route and relay. */
import { create } from "@bufbuild/protobuf";
import { inferencev1, type ServiceImpl } from "@sigmaserve/proto";
import type { RequestPipeline } from "../request-pipeline.js";
import { checkModel } from "../generate/normalize-request.js";

export function inferenceServiceImpl(pipeline: RequestPipeline): ServiceImpl<typeof inferencev1.InferenceService> {
  return {
    async *generate(request, context) {
      const tenant = pipeline.apiKeys.authenticate(context.metadata.get("authorization")[0]?.toString());
      const events = pipeline.generate(request, tenant, context.signal);
      for await (const event of events) {
        yield create(inferencev1.GenerateResponseSchema, event.kind === "chunk" ? { event: { case: "chunk", value: event.chunk } } : { event: { case: "finish", value: event.finish } });
      }
    },

    async tokenize(request, context) {
      pipeline.apiKeys.authenticate(context.metadata.get("authorization")[0]?.toString());
      checkModel(request.model, pipeline.pool);
      const tokenizer = pipeline.tokenizers.get(request.model, pipeline.pool);
      const worker = pipeline.pool.list().find((w) => w.info.model?.id === request.model);
      return { tokenIds: tokenizer.encode(request.text, { addSpecialTokens: request.addSpecialTokens }), maxContextTokens: worker?.info.model?.maxContextTokens ?? 0 };
    },

    async listModels(_request, context) {
      pipeline.apiKeys.authenticate(context.metadata.get("authorization")[0]?.toString());
      return { models: pipeline.listModels() };
    },
  };
}
