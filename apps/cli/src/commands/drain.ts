/**
 * `sigmaserve drain <worker-address>`: stop a worker admitting; it finishes what runs (or cancels after
 * --grace-ms), or with --migrate hands its running requests and hot prefixes over to its peers with their KV.
 *
 * The Drain call returns at once with where the drain stands. With --wait-s N the command then polls the
 * worker's GetLoad (the heartbeat's own WorkerLoad) until it reports DRAINED with nothing running or
 * waiting, and fails (exit 1) if that takes longer than N seconds. That is what a Kubernetes preStop hook
 * runs: the hook returns, and the kubelet sends SIGTERM, only once the worker has handed everything over.
 * Asking again is harmless: a worker already draining keeps its drain, a drained one answers DRAINED.
 *
 * A worker started with --tls-cert/--tls-key/--tls-ca requires a client certificate signed by its CA:
 * give the same three flags here (a certificate from the cluster's CA), or the call fails UNAVAILABLE.
 */
import { coordv1, createGrpcClient, PemFileCertificateProvider, pemChannelSecurity, TlsConfigError, workerv1, type ClientOptions } from "@sigmaserve/proto";
import type { CommandIo } from "../command-io.js";
import { resolveAddress } from "../address.js";
import { defineCommand, integerFlag, parseCommand } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "drain",
  summary: "Drain a worker: it admits no more requests and finishes what runs (or hands it to its peers with --migrate).",
  args: "[WORKER_ADDRESS]",
  flags: {
    address: { type: "string", value: "ADDR", description: 'the worker (not the router): host:port or grpc://host:port, as "sigmaserve status" lists it; or give it as the argument' },
    "grace-ms": { type: "string", value: "N", default: "0: let it finish", description: "cancel what still runs N ms after the drain starts" },
    migrate: { type: "boolean", description: "hand running requests and hot prefixes over to the peers, with their KV" },
    "wait-s": { type: "string", value: "N", default: "do not wait", description: "wait until the worker reports DRAINED with nothing running or waiting; fail after N s" },
    "tls-ca": { type: "string", value: "FILE", description: "mutual TLS to a worker started with --tls-*: the PEM CA its certificate is checked against (with --tls-cert, --tls-key)" },
    "tls-cert": { type: "string", value: "FILE", description: "the PEM client certificate to present (signed by the worker's --tls-ca)" },
    "tls-key": { type: "string", value: "FILE", description: "the PEM private key of --tls-cert" },
    "tls-server-name": { type: "string", value: "NAME", description: "the name the worker's certificate carries; default: the host of the address" },
  },
  maxPositionals: 1,
});

const STATES = ["unspecified", "starting", "ready", "draining", "drained"];
/** Time between two GetLoad calls while waiting. */
export const DRAIN_POLL_INTERVAL_MS = 250;
/** Deadline of one Drain or GetLoad call. */
const CALL_TIMEOUT_MS = 5_000;
/** A poll is not started with less time than this before the deadline. */
const MIN_POLL_BUDGET_MS = 100;

interface DrainProgress {
  workerId: string;
  state: number;
  runningRequests: number;
  waitingRequests: number;
}

const describe = (p: DrainProgress): string => `${STATES[p.state] ?? p.state}, ${p.runningRequests} running, ${p.waitingRequests} waiting`;
const isDrained = (p: DrainProgress): boolean => p.state === coordv1.WorkerState.DRAINED && p.runningRequests === 0 && p.waitingRequests === 0;

/** Client options for --tls-*: all three or none (a worker's TLS is always mutual); a bad file is a usage error naming the flag. */
function workerTls(values: Record<string, unknown>): { options: ClientOptions; close(): void } {
  const [ca, cert, key, serverName] = (["tls-ca", "tls-cert", "tls-key", "tls-server-name"] as const).map((flag) => values[flag] as string | undefined);
  if (ca === undefined && cert === undefined && key === undefined) {
    if (serverName !== undefined) throw new UsageError("--tls-server-name: only with --tls-ca, --tls-cert and --tls-key", SPEC.usage);
    return { options: {}, close: () => {} };
  }
  const missing = (["tls-ca", "tls-cert", "tls-key"] as const).filter((flag) => values[flag] === undefined);
  if (missing.length > 0) throw new UsageError(`--${missing[0]}: a worker's TLS is mutual: give --tls-ca, --tls-cert and --tls-key together`, SPEC.usage);
  try {
    const provider = new PemFileCertificateProvider({ ca: { path: ca!, flag: "--tls-ca" }, cert: { path: cert!, flag: "--tls-cert" }, key: { path: key!, flag: "--tls-key" } });
    return { options: pemChannelSecurity(provider, { serverName }), close: () => provider.close() };
  } catch (err) {
    if (err instanceof TlsConfigError) throw new UsageError(err.message, SPEC.usage);
    throw err;
  }
}

export async function drain(argv: string[], io: CommandIo, options: { pollIntervalMs?: number } = {}): Promise<void> {
  const { values, positionals } = parseCommand(SPEC, argv);
  if (positionals[0] !== undefined && values.address !== undefined) throw new UsageError("give the worker's address once: as the argument or --address", SPEC.usage);
  const given = positionals[0] ?? (values.address as string | undefined);
  if (given === undefined) throw new UsageError("give the worker's address (host:port)", SPEC.usage);
  // NOTE: not SIGMASERVE_ADDRESS: that names the router, and drain speaks to a worker.
  const address = resolveAddress(given, {}, "grpc", SPEC.usage);
  const graceMs = integerFlag(values["grace-ms"] as string | undefined, "--grace-ms", SPEC.usage, { min: 0, fallback: 0 })!;
  const waitS = integerFlag(values["wait-s"] as string | undefined, "--wait-s", SPEC.usage, { min: 1 });
  const pollIntervalMs = options.pollIntervalMs ?? DRAIN_POLL_INTERVAL_MS;
  const tls = workerTls(values);
  const client = createGrpcClient(workerv1.WorkerService, address, tls.options);
  try {
    const migrate = values.migrate === true;
    const startedMs = Date.now();
    const { status } = await client.drain({ command: { requesterId: "sigmaserve-cli", graceMs, migrate } }, { timeoutMs: CALL_TIMEOUT_MS });
    io.stdout(`${status!.workerId}: ${STATES[status!.state] ?? status!.state}${migrate ? ", migrating to its peers" : ""}, ${status!.runningRequests} running, ${status!.waitingRequests} waiting\n`);
    if (waitS === undefined) return;

    const deadlineMs = startedMs + waitS * 1000;
    let last: DrainProgress = status!;
    let lastError: Error | undefined;
    while (!isDrained(last)) {
      const leftMs = deadlineMs - Date.now();
      if (leftMs <= 0) {
        const why = lastError === undefined ? describe(last) : `last known: ${describe(last)}; the last poll failed: ${lastError.message}`;
        throw new Error(`${last.workerId} did not finish draining within ${waitS} s (${why})`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, leftMs)));
      const budgetMs = Math.min(CALL_TIMEOUT_MS, deadlineMs - Date.now());
      // Too little time left for a call to answer: the next turn reports the deadline.
      if (budgetMs < MIN_POLL_BUDGET_MS) continue;
      try {
        // NOTE: a failed poll (the worker busy, a blip) is not the end: keep asking until the deadline.
        const { load } = await client.getLoad({}, { timeoutMs: budgetMs });
        if (load !== undefined) last = { workerId: load.workerId || last.workerId, state: load.state, runningRequests: load.runningRequests, waitingRequests: load.waitingRequests };
        lastError = undefined;
      } catch (err) {
        lastError = err as Error;
      }
    }
    io.stdout(`${last.workerId}: drained after ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
  } finally {
    client.close();
    tls.close();
  }
}
