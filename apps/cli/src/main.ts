#!/usr/bin/env node
/**
 * The sigmaserve command. Each subcommand lives in commands/ and exports
 * `run(argv, io)`; this file only dispatches and turns errors into exit codes:
 * a usage error prints the usage and exits 2, any other error prints its
 * message (typed errors already name the field or file) and exits 1.
 */
import { pathToFileURL } from "node:url";
import { kvPlan } from "./commands/kv-plan.js";
import { modelInspect } from "./commands/model-inspect.js";
import { modelLogits } from "./commands/model-logits.js";
import { modelMake } from "./commands/model-make.js";
import { drain } from "./commands/drain.js";
import { generate } from "./commands/generate.js";
import { status } from "./commands/status.js";
import { up } from "./commands/up.js";
import { router, worker } from "./commands/worker.js";
import type { CommandIo } from "./command-io.js";
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from "./usage-error.js";

const COMMANDS: Record<string, (argv: string[], io: CommandIo) => Promise<void>> = {
  "model make": modelMake,
  "model inspect": modelInspect,
  "model logits": modelLogits,
  up,
  worker,
  router,
  generate,
  status,
  drain,
  "kv plan": kvPlan,
};

const USAGE = `usage: sigmaserve <command> [options]

commands:
  up              a local cluster on the demo model: workers + router (+ nats-server when installed)
  worker          start a worker process (sigmaserve worker --help for its flags)
  router          start a router process (sigmaserve router --help for its flags)
  generate        one completion through the router ("sigmaserve generate 'Hello' --stream")
  status          workers, load, K and V usage per tier, from the router
  drain           drain a worker (finish its requests, admit no more)
  model make      write a demo model (config.json, model.safetensors, tokenizer.json) from a preset and seed
  model inspect   parameters and K/V cache bytes per token, next to the GQA twin
  model logits    logits of the reference forward pass (or the ORT dense path) for given tokens
  kv plan         tokens of KV cache that fit per tier, K and V apart, next to the GQA twin

run "sigmaserve <command> --help" for a command's options`;

/** Runs the CLI and returns the exit code (so tests can call it in-process). */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  // One-word commands (worker) take the rest of the line; two-word ones (model make) take one more word.
  const name = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? argv[0] : argv.slice(0, 2).join(" ");
  const command = COMMANDS[name];
  if (command === undefined) {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "help") {
      io.stdout(`${USAGE}\n`);
      return argv.length === 0 ? EXIT_USAGE : 0;
    }
    io.stderr(`sigmaserve: unknown command "${argv.slice(0, 2).join(" ")}"\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  try {
    await command(argv.slice(name.split(" ").length), io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`sigmaserve ${name}: ${err.message}\n\n${err.usage}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`sigmaserve ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const code = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}
