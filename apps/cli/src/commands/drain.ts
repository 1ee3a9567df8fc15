/**
 * `sigmaserve drain <worker-address>`: stop a worker admitting; it finishes what runs (or cancels after
 * --grace-ms), or with --migrate hands its running requests and hot prefixes over to its peers with their KV.
 */
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import type { CommandIo } from "../command-io.js";
import { integerFlag, parseCommand, type CommandSpec } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

const SPEC: CommandSpec = {
  name: "drain",
  usage: `usage: sigmaserve drain WORKER_ADDRESS [--grace-ms N] [--migrate]   (the worker's host:port, as "sigmaserve status" lists it)`,
  options: { "grace-ms": { type: "string" }, migrate: { type: "boolean" }, help: { type: "boolean" } },
  maxPositionals: 1,
};

const STATES = ["unspecified", "starting", "ready", "draining", "drained"];

export async function drain(argv: string[], io: CommandIo): Promise<void> {
  const { values, positionals } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const address = positionals[0];
  if (address === undefined) throw new UsageError("give the worker's address (host:port)", SPEC.usage);
  const graceMs = integerFlag(values["grace-ms"] as string | undefined, "--grace-ms", SPEC.usage, { min: 0, fallback: 0 })!;
  const client = createGrpcClient(workerv1.WorkerService, address);
  try {
    const migrate = values.migrate === true;
    const { status } = await client.drain({ command: { requesterId: "sigmaserve-cli", graceMs, migrate } }, { timeoutMs: 5_000 });
    io.stdout(`${status!.workerId}: ${STATES[status!.state] ?? status!.state}${migrate ? ", migrating to its peers" : ""}, ${status!.runningRequests} running, ${status!.waitingRequests} waiting\n`);
  } finally {
    client.close();
  }
}
