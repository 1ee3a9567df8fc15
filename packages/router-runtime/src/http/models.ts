/**
 * GET /v1/models and GET /v1/models/{model}: the models some worker serves,
 * in OpenAI's list shape, with sigmaserve's extras (context length,
 * tokenizer, ready workers) as extra fields, as vLLM adds `max_model_len`.
 * `created` is when the oldest worker serving the model started.
 */
import type { inferencev1 } from "@sigmaserve/proto";
import { UnknownModelError } from "../errors.js";
import type { RequestPipeline } from "../request-pipeline.js";
import { nowSeconds } from "./generation.js";

export interface OpenAiModel {
  id: string;
  object: "model";
  created: number;
  owned_by: "sigmaserve";
  max_model_len: number;
  tokenizer: string;
  vocab_size: number;
  ready_workers: number;
}

function modelOf(pipeline: RequestPipeline, summary: inferencev1.ModelSummary): OpenAiModel {
  const starts = pipeline.pool
    .list()
    .filter((w) => w.info.model?.id === summary.id && w.info.startedAtUnixMs > 0n)
    .map((w) => Number(w.info.startedAtUnixMs));
  return {
    id: summary.id,
    object: "model",
    created: starts.length === 0 ? nowSeconds() : Math.floor(Math.min(...starts) / 1000),
    owned_by: "sigmaserve",
    max_model_len: summary.maxContextTokens,
    tokenizer: summary.tokenizer,
    vocab_size: summary.vocabSize,
    ready_workers: summary.readyWorkers,
  };
}

export function listModels(pipeline: RequestPipeline): { object: "list"; data: OpenAiModel[] } {
  return { object: "list", data: pipeline.listModels().map((summary) => modelOf(pipeline, summary)) };
}

/** One model; an id no worker serves is UnknownModelError (404 model_not_found). */
export function getModel(pipeline: RequestPipeline, id: string): OpenAiModel {
  const summaries = pipeline.listModels();
  const summary = summaries.find((m) => m.id === id);
  if (summary === undefined) throw new UnknownModelError(id, summaries.map((m) => m.id));
  return modelOf(pipeline, summary);
}
