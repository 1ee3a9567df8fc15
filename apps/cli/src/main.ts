#!/usr/bin/env node
/**
 * The sigmaserve command. Each subcommand lives in commands/ and exports `run(argv, io)` and its flag
 * table (SPEC); this file only dispatches, answers -h/--help, --version and `help COMMAND` from those
 * tables, and turns errors into exit codes: a usage error exits 2, any other error exits 1, each with one
 * line on stderr (typed errors already name the field or file), never a stack trace.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { SPEC as keysHashSpec, keysHash } from "./commands/keys-hash.js";
import { SPEC as kvPlanSpec, kvPlan } from "./commands/kv-plan.js";
import { SPEC as modelInspectSpec, modelInspect } from "./commands/model-inspect.js";
import { SPEC as modelLogitsSpec, modelLogits } from "./commands/model-logits.js";
import { SPEC as modelMakeSpec, modelMake } from "./commands/model-make.js";
import { SPEC as drainSpec, drain } from "./commands/drain.js";
import { SPEC as generateSpec, generate } from "./commands/generate.js";
import { SPEC as statusSpec, status } from "./commands/status.js";
import { SPEC as upSpec, up } from "./commands/up.js";
import { router, worker } from "./commands/worker.js";
import type { CommandIo } from "./command-io.js";
import type { CommandSpec } from "./parse-command.js";
import { EXIT_FAILURE, EXIT_USAGE, ExitCode, UsageError } from "./usage-error.js";

interface Command {
  summary: string;
  run: (argv: string[], io: CommandIo) => Promise<void>;
  /** The flag table; absent for worker and router, whose own process answers --help. */
  spec?: CommandSpec;
}

const firstLine = (spec: CommandSpec): string => spec.summary.split("\n")[0]!.replace(/\.$/, "");

const COMMANDS: Record<string, Command> = {
  up: { summary: firstLine(upSpec), run: up, spec: upSpec },
  worker: { summary: "start a worker process (its flags: sigmaserve worker --help)", run: worker },
  router: { summary: "start a router process (its flags: sigmaserve router --help)", run: router },
  generate: { summary: firstLine(generateSpec), run: generate, spec: generateSpec },
  status: { summary: firstLine(statusSpec), run: status, spec: statusSpec },
  drain: { summary: firstLine(drainSpec), run: drain, spec: drainSpec },
  "model make": { summary: firstLine(modelMakeSpec), run: modelMake, spec: modelMakeSpec },
  "model inspect": { summary: firstLine(modelInspectSpec), run: modelInspect, spec: modelInspectSpec },
  "model logits": { summary: firstLine(modelLogitsSpec), run: modelLogits, spec: modelLogitsSpec },
  "kv plan": { summary: firstLine(kvPlanSpec), run: kvPlan, spec: kvPlanSpec },
  "keys hash": { summary: firstLine(keysHashSpec), run: (argv, io) => keysHash(argv, io), spec: keysHashSpec },
};

/** Two-word commands' first words, and what the group is. */
const GROUPS: Record<string, string> = { model: "demo models: write, inspect, run the reference forward pass", kv: "KV cache planning", keys: "API keys for the router's --api-keys-file" };

export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

function commandList(names: string[]): string {
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return names.map((name) => `  ${name.padEnd(width)}${COMMANDS[name]!.summary}`).join("\n");
}

const USAGE = `usage: sigmaserve <command> [options]

commands:
${commandList(Object.keys(COMMANDS))}

options:
  -h, --help   show this help (sigmaserve help COMMAND, or COMMAND --help: a command's flags)
  --version    print the version

environment: SIGMASERVE_ADDRESS (the router, for generate and status), SIGMASERVE_API_KEY, SIGMASERVE_LOG_LEVEL`;

function groupHelp(group: string): string {
  const names = Object.keys(COMMANDS).filter((name) => name.startsWith(`${group} `));
  return `usage: sigmaserve ${group} <command> [options]\n\n${GROUPS[group]}\n\ncommands:\n${commandList(names)}\n\nrun "sigmaserve ${group} <command> --help" for a command's flags`;
}

/** The command `argv` starts with (one word, or two for a group), or undefined. */
function commandName(argv: string[]): string | undefined {
  if (argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0])) return argv[0];
  const two = argv.slice(0, 2).join(" ");
  return Object.hasOwn(COMMANDS, two) ? two : undefined;
}

/** Whether `flags` occurs among the options (before a `--`). */
const asks = (argv: string[], ...flags: string[]): boolean => {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => flags.includes(arg));
};

/** Runs the CLI and returns the exit code (so tests can call it in-process). */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  if (argv.length === 0) {
    io.stderr(`${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (argv[0] === "-h" || argv[0] === "--help") return void io.stdout(`${USAGE}\n`), 0;
  if (argv[0] === "--version" || argv[0] === "version") return void io.stdout(`sigmaserve ${VERSION}\n`), 0;
  if (argv[0] === "help") {
    const topic = argv.slice(1);
    if (topic.length === 0) return void io.stdout(`${USAGE}\n`), 0;
    const name = commandName(topic);
    if (name !== undefined) return runCommand(name, ["--help"], io);
    if (topic.length === 1 && Object.hasOwn(GROUPS, topic[0]!)) return void io.stdout(`${groupHelp(topic[0]!)}\n`), 0;
    return unknown(topic, io);
  }
  const name = commandName(argv);
  if (name === undefined) {
    const group = argv[0]!;
    if (Object.hasOwn(GROUPS, group) && (argv.length === 1 || asks(argv.slice(1, 2), "-h", "--help"))) return void io.stdout(`${groupHelp(group)}\n`), 0;
    return unknown(argv, io);
  }
  return runCommand(name, argv.slice(name.split(" ").length), io);
}

function unknown(argv: string[], io: CommandIo): number {
  const words = Object.hasOwn(GROUPS, argv[0]!) ? argv.slice(0, 2) : argv.slice(0, 1);
  io.stderr(`sigmaserve: unknown command "${words.join(" ")}" (see "sigmaserve --help")\n`);
  return EXIT_USAGE;
}

async function runCommand(name: string, args: string[], io: CommandIo): Promise<number> {
  const command = COMMANDS[name]!;
  if (asks(args, "--version")) return void io.stdout(`sigmaserve ${VERSION}\n`), 0;
  if (command.spec !== undefined && asks(args, "-h", "--help")) return void io.stdout(`${command.spec.usage}\n`), 0;
  try {
    await command.run(args, io);
    return 0;
  } catch (err) {
    if (err instanceof ExitCode) return err.code;
    if (err instanceof UsageError) {
      io.stderr(`sigmaserve ${name}: ${err.message} (see "sigmaserve ${name} --help")\n`);
      return EXIT_USAGE;
    }
    io.stderr(`sigmaserve ${name}: ${oneLine(err)}\n`);
    return EXIT_FAILURE;
  }
}

/** An error's message on one line (a gRPC error's details can span several). */
const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, "; ");

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const code = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}
