/** `sigmaserve generate "text"`: one completion through the router, with the public SDK. */
import { createClient } from "@sigmaserve/client";
import type { CommandIo } from "../command-io.js";
import { integerFlag, parseCommand, type CommandSpec } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

const SPEC: CommandSpec = {
  name: "generate",
  usage: `usage: sigmaserve generate "prompt" [--address 127.0.0.1:50051] [--model sigma-tiny] [--max-tokens 64] [--temperature 0.8] [--seed N] [--stream] [--api-key KEY] [--json]`,
  options: {
    address: { type: "string" },
    model: { type: "string" },
    "max-tokens": { type: "string" },
    temperature: { type: "string" },
    seed: { type: "string" },
    stream: { type: "boolean" },
    "api-key": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  },
  maxPositionals: 1,
};

export async function generate(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const prompt = positionals[0];
  if (prompt === undefined || prompt === "") throw new UsageError("give the prompt as the first argument", SPEC.usage);
  const temperatureText = values.temperature as string | undefined;
  const temperature = temperatureText === undefined ? undefined : Number(temperatureText);
  if (temperature !== undefined && !(temperature >= 0)) throw new UsageError(`--temperature must be a number >= 0, got "${temperatureText}"`, SPEC.usage);
  const seed = integerFlag(values.seed as string | undefined, "--seed", SPEC.usage, { min: 0 });
  const client = createClient({ address: (values.address as string | undefined) ?? "127.0.0.1:50051", ...(values["api-key"] === undefined ? {} : { apiKey: values["api-key"] as string }) });
  const request = {
    model: (values.model as string | undefined) ?? "sigma-tiny",
    prompt,
    maxTokens: integerFlag(values["max-tokens"] as string | undefined, "--max-tokens", SPEC.usage, { min: 1, fallback: 64 })!,
    ...(temperature === undefined ? {} : { temperature }),
    ...(seed === undefined ? {} : { seed }),
  };
  try {
    if (values.stream === true) {
      for await (const event of client.generate(request)) {
        if (event.type === "chunk") io.stdout(event.text);
        else io.stdout(`\n[${event.finishReason}: ${event.usage.promptTokens} prompt + ${event.usage.completionTokens} completion tokens, ${event.usage.cachedPromptTokens} cached, ttft ${event.timings.ttftMs.toFixed(1)} ms]\n`);
      }
      return;
    }
    const result = await client.complete(request);
    if (values.json === true) io.stdout(`${JSON.stringify({ text: result.text, tokenIds: result.tokenIds, finishReason: result.finishReason, usage: result.usage })}\n`);
    else io.stdout(`${result.text}\n`);
  } finally {
    client.close();
  }
}
