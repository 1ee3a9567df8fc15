/**
 * @sigmaserve/engine: the model runner. ORT dense stages from
 * @sigmaserve/model, paged DiffQKV attention over @sigmaserve/kvcache's pools
 * (with selective V), the sampler, and the batch step.
 */
export * from "./attention/index.js";
export * from "./sampler/index.js";
export { ModelRunner, type ModelRunnerOptions, type StepPromptLogprobs, type StepResult, type StepSequence, type StepTimings } from "./runner/model-runner.js";
