/** `sigmaserve generate "text"`: one completion through the router, with the public SDK; --json --stream is NDJSON. */
import { createClient } from "@sigmaserve/client";
import type { CommandIo } from "../command-io.js";
import { ADDRESS_ENV, API_KEY_ENV, API_KEY_FLAG, addressFlag, resolveAddress, resolveApiKey } from "../address.js";
import { jsonText } from "../json-output.js";
import { defineCommand, integerFlag, parseCommand } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "generate",
  summary: "One completion through the router's gRPC API, with the public SDK.",
  args: "PROMPT",
  flags: {
    address: addressFlag("grpc"),
    model: { type: "string", value: "NAME", default: "sigma-tiny", description: "the model to run" },
    "max-tokens": { type: "string", value: "N", default: "64", description: "most tokens to generate" },
    temperature: { type: "string", value: "T", default: "the server's", description: "sampling temperature; 0 is greedy" },
    seed: { type: "string", value: "N", description: "sampling seed (the same seed gives the same tokens)" },
    stream: { type: "boolean", description: "print tokens as they arrive" },
    "api-key": API_KEY_FLAG,
    json: { type: "boolean", description: "JSON (snake_case) instead of text; with --stream one JSON object per event (NDJSON)" },
  },
  maxPositionals: 1,
  notes: `environment: ${ADDRESS_ENV} (the router's address), ${API_KEY_ENV} (the API key); flags win.`,
});

export async function generate(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseCommand(SPEC, argv);
  const prompt = positionals[0];
  if (prompt === undefined || prompt === "") throw new UsageError("give the prompt as the first argument", SPEC.usage);
  const temperatureText = values.temperature as string | undefined;
  const temperature = temperatureText === undefined ? undefined : Number(temperatureText);
  if (temperature !== undefined && !(temperature >= 0)) throw new UsageError(`--temperature must be a number >= 0, got "${temperatureText}"`, SPEC.usage);
  const seed = integerFlag(values.seed as string | undefined, "--seed", SPEC.usage, { min: 0 });
  const address = resolveAddress(values.address as string | undefined, process.env, "grpc", SPEC.usage);
  const apiKey = resolveApiKey(values["api-key"] as string | undefined, process.env);
  const client = createClient({ address, ...(apiKey === undefined ? {} : { apiKey }) });
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
        // NOTE: NDJSON: one object per event, as it arrives, the event's own fields (type: chunk | finish).
        if (values.json === true) io.stdout(jsonText(event));
        else if (event.type === "chunk") io.stdout(event.text);
        else io.stdout(`\n[${event.finishReason}: ${event.usage.promptTokens} prompt + ${event.usage.completionTokens} completion tokens, ${event.usage.cachedPromptTokens} cached, ttft ${event.timings.ttftMs.toFixed(1)} ms]\n`);
      }
      return;
    }
    const result = await client.complete(request);
    if (values.json === true) io.stdout(jsonText({ text: result.text, tokenIds: result.tokenIds, finishReason: result.finishReason, usage: result.usage }));
    else io.stdout(`${result.text}\n`);
  } finally {
    client.close();
  }
}
