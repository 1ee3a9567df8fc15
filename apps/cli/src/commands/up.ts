/**
 * `sigmaserve up`: a local cluster on the demo model. With --nats URL the
 * worker and router processes coordinate over that server; without it, a
 * nats-server is started when one is installed; failing that (or with
 * --single-process) the workers and the router run in this process on the
 * in-memory bus. Ctrl-C stops everything cleanly (workers drain first).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { PRESET_NAMES } from "@sigmaserve/model/config";
import type { CommandIo } from "../command-io.js";
import { LOG_LEVELS, LOG_LEVEL_ENV, captureMessageContentFromEnv, echoLogLine, isLogLevel, levelNumber, processLogger, startTracing, traceLogFields, type LogLevel } from "@sigmaserve/telemetry";
import { defineCommand, integerFlag, parseCommand, requirePreset } from "../parse-command.js";
import { UsageError } from "../usage-error.js";
import { findNatsServer, launchNatsServer } from "./nats-launcher.js";
import { startSingleProcessCluster } from "./single-process-cluster.js";
import { checkUpSettings } from "./up-checks.js";
import { appEntryPoint, spawnApp } from "./spawn-app.js";

/** `--workers` above this is a typo, not a local cluster. */
export const MAX_UP_WORKERS = 64;
export const DEFAULT_UP_WORKERS = 2;
export const DEFAULT_UP_GRPC_PORT = 50051;
export const DEFAULT_UP_HTTP_PORT = 8000;

export const SPEC = defineCommand({
  name: "up",
  summary: "A local cluster on the demo model: N workers and a router (and a nats-server, when one is installed).\nEverything is checked before anything starts; Ctrl-C stops the cluster (the workers drain first).",
  flags: {
    workers: { type: "string", value: "N", default: String(DEFAULT_UP_WORKERS), description: `worker count, 1 to ${MAX_UP_WORKERS}` },
    preset: { type: "string", value: "NAME", default: "sigma-tiny", description: `the demo model: ${PRESET_NAMES.join(" | ")}` },
    nats: { type: "string", value: "URL", default: "start nats-server when installed", description: "use this NATS server" },
    "single-process": { type: "boolean", description: "workers and router in this process on the in-memory bus (the default without nats-server)" },
    "grpc-port": { type: "string", value: "N", default: String(DEFAULT_UP_GRPC_PORT), description: "the router's gRPC port (0: the OS picks); must be free" },
    "http-port": { type: "string", value: "N", default: String(DEFAULT_UP_HTTP_PORT), description: "the router's HTTP port (0: the OS picks); must be free" },
    policy: { type: "string", value: "NAME", default: "the router's (kv_aware)", description: "routing policy: kv_aware | least_loaded | round_robin" },
    autoscale: { type: "string", value: "MIN..MAX", description: "the router starts and stops worker processes with the load (local-process provider; needs NATS; --workers is ignored)" },
    "otlp-endpoint": { type: "string", value: "URL", default: "$OTEL_EXPORTER_OTLP_ENDPOINT, else off", description: "send traces over OTLP/HTTP to this collector (http://host:4318)" },
    "trace-content": { type: "boolean", description: "record prompt and output text on the router's spans (also OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true|SPAN_ONLY)" },
    "log-level": { type: "string", value: "LEVEL", default: `$${LOG_LEVEL_ENV}, else warn`, description: `the cluster's log lines shown on stderr: ${LOG_LEVELS.join(" | ")} (info adds one line per request)` },
    verbose: { type: "boolean", description: "the same as --log-level info" },
  },
  maxPositionals: 0,
  notes: "logs are human-readable on a terminal, JSON lines otherwise.",
});

/** How the cluster coordinates: a given NATS URL, a nats-server we start, or one process on the memory bus. */
export type UpMode = { kind: "nats-url"; url: string } | { kind: "start-nats"; binary: string } | { kind: "single-process"; reason: "asked" | "no nats-server" };

export function chooseUpMode(options: { nats?: string; singleProcess: boolean; natsBinary: string | undefined }): UpMode {
  if (options.nats !== undefined && options.singleProcess) throw new UsageError("give --nats or --single-process, not both", SPEC.usage);
  if (options.nats !== undefined) return { kind: "nats-url", url: options.nats };
  if (options.singleProcess) return { kind: "single-process", reason: "asked" };
  return options.natsBinary === undefined ? { kind: "single-process", reason: "no nats-server" } : { kind: "start-nats", binary: options.natsBinary };
}

export interface UpSettings {
  count: number;
  preset: string;
  grpcPort: number;
  httpPort: number;
  policy: string | undefined;
  otlpEndpoint: string | undefined;
  /** MIN..MAX as given; the router checks it. */
  autoscale: string | undefined;
  /** Asked for on the command line; the router also reads the GenAI content variable itself. */
  traceContent: boolean;
  /** The cluster's log lines at or above this level are shown on stderr. */
  logLevel: LogLevel;
}

export async function up(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  const logLevelText = (values["log-level"] as string | undefined) ?? (values.verbose === true ? "info" : (process.env[LOG_LEVEL_ENV] || "warn"));
  if (!isLogLevel(logLevelText)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${logLevelText}"`, SPEC.usage);
  if (values.verbose === true && values["log-level"] !== undefined) throw new UsageError("give --verbose or --log-level, not both", SPEC.usage);
  const settings: UpSettings = {
    count: integerFlag(values.workers as string | undefined, "--workers", SPEC.usage, { min: 1, max: MAX_UP_WORKERS, fallback: DEFAULT_UP_WORKERS })!,
    grpcPort: integerFlag(values["grpc-port"] as string | undefined, "--grpc-port", SPEC.usage, { min: 0, max: 65_535, fallback: DEFAULT_UP_GRPC_PORT })!,
    httpPort: integerFlag(values["http-port"] as string | undefined, "--http-port", SPEC.usage, { min: 0, max: 65_535, fallback: DEFAULT_UP_HTTP_PORT })!,
    preset: requirePreset((values.preset as string | undefined) ?? "sigma-tiny", SPEC.usage),
    policy: values.policy as string | undefined,
    otlpEndpoint: values["otlp-endpoint"] as string | undefined,
    traceContent: values["trace-content"] === true || captureMessageContentFromEnv(process.env),
    autoscale: values.autoscale as string | undefined,
    logLevel: logLevelText,
  };
  const mode = chooseUpMode({ nats: values.nats as string | undefined, singleProcess: values["single-process"] === true, natsBinary: findNatsServer(process.env["PATH"]) });
  if (mode.kind === "single-process" && settings.autoscale !== undefined) {
    throw new UsageError(`--autoscale starts worker processes, which need NATS: ${mode.reason === "asked" ? "drop --single-process" : "install nats-server or give --nats URL"}`, SPEC.usage);
  }
  // NOTE: every check (flags as the router will read them, free ports) runs before the first process starts.
  await checkUpSettings(settings, SPEC.usage);
  if (mode.kind === "single-process") return upSingleProcess(settings, mode.reason, io);
  return upProcesses(settings, mode, io);
}

/** Workers and router log at info at least: `up` waits for their "listening" lines, then filters by --log-level. */
const childLogLevel = (level: LogLevel): LogLevel => (levelNumber(level) < levelNumber("info") ? level : "info");

function printTryLines(io: CommandIo, preset: string, grpc: string, http: string): void {
  io.stdout(`router    grpc ${grpc}  http http://${http}  metrics http://${http}/metrics\n`);
  io.stdout(`\ntry:  curl -s http://${http}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${preset}","messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'\n`);
  io.stdout(`      sigmaserve generate "Hello" --address grpc://${grpc} --stream\n`);
  io.stdout(`      sigmaserve status --address http://${http}\nCtrl-C stops the cluster.\n`);
}

/**
 * Resolves after `stop` has run, on SIGINT or SIGTERM or when `watch` calls `stopNow(why)`: once, whichever
 * comes first; a `why` after that (a child exiting because it is being stopped) is not reported.
 */
function untilSignal(io: CommandIo, stop: () => Promise<void>, watch: (stopNow: (why: string) => void) => void = () => {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stopOnce = (why?: string): void => {
      if (stopping) return;
      stopping = true;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (why !== undefined) io.stderr(`${why}; stopping\n`);
      io.stdout("\nstopping...\n");
      stop().then(resolve, reject);
    };
    const onSignal = (): void => stopOnce();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    watch(stopOnce);
  });
}

async function upSingleProcess(settings: UpSettings, reason: "asked" | "no nats-server", io: CommandIo): Promise<void> {
  const logger = processLogger("sigmaserve-up", settings.logLevel, { mixin: () => traceLogFields() });
  io.stdout(`nats      ${reason === "asked" ? "not used" : "not installed"}: workers and router run in this process on the in-memory bus\n`);
  // One provider for the whole process: its router's and workers' spans share it.
  const tracing = await startTracing({ serviceName: "sigmaserve", endpoint: settings.otlpEndpoint });
  if (tracing.enabled) io.stdout(`traces    ${tracing.tracesUrl}\n`);
  let cluster;
  try {
    cluster = await startSingleProcessCluster({ workers: settings.count, preset: settings.preset, grpcPort: settings.grpcPort, httpPort: settings.httpPort, traceContent: settings.traceContent, logger, ...(settings.policy === undefined ? {} : { policy: settings.policy }) });
  } catch (err) {
    await tracing.shutdown().catch(() => {});
    throw err;
  }
  for (const worker of cluster.workers) {
    io.stdout(`${worker.config.workerId}  ${worker.address} (${settings.preset}, in-process)\n`);
  }
  printTryLines(io, settings.preset, cluster.router.grpcAddress, cluster.router.httpAddress);
  await untilSignal(io, async () => {
    await cluster.stop();
    await tracing.shutdown().catch(() => {});
  });
}

async function upProcesses(settings: UpSettings, mode: Exclude<UpMode, { kind: "single-process" }>, io: CommandIo): Promise<void> {
  const format = echoLogLine(settings.logLevel, process.stderr.isTTY === true);
  const log = (line: string): void => {
    const text = format(line);
    if (text !== undefined) io.stderr(text);
  };
  const logLevelFlags = ["--log-level", childLogLevel(settings.logLevel)];
  const children: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // Router first (no new requests), then workers (they drain), then NATS.
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    }
  };
  let natsUrl: string;
  // A signal during start-up stops what has started (untilSignal takes over once the cluster is up).
  const onStartupSignal = (signal: NodeJS.Signals): void => {
    void stopAll().finally(() => process.kill(process.pid, signal));
  };
  process.once("SIGINT", onStartupSignal);
  process.once("SIGTERM", onStartupSignal);
  try {
    if (mode.kind === "start-nats") {
      const nats = await launchNatsServer(mode.binary);
      children.push(nats.child);
      natsUrl = nats.url;
      io.stdout(`nats      ${natsUrl} (started)\n`);
    } else {
      natsUrl = mode.url;
      io.stdout(`nats      ${natsUrl}\n`);
    }
    const tracingFlags = settings.otlpEndpoint === undefined ? [] : ["--otlp-endpoint", settings.otlpEndpoint];
    const autoscaleFlags =
      settings.autoscale === undefined
        ? []
        : [
            "--autoscale",
            settings.autoscale,
            "--autoscale-provider",
            "local-process",
            "--autoscale-worker-command",
            JSON.stringify([process.execPath, appEntryPoint("@sigmaserve/worker"), "--preset", settings.preset, "--port", "0", "--metrics-port", "0", "--nats", natsUrl, "--drain-migrate", ...logLevelFlags, ...tracingFlags]),
          ];
    for (let i = 0; i < (settings.autoscale === undefined ? settings.count : 0); i++) {
      const worker = await spawnApp("@sigmaserve/worker", ["--preset", settings.preset, "--port", "0", "--metrics-port", "0", "--worker-id", `worker-${i}`, "--nats", natsUrl, ...logLevelFlags, ...tracingFlags], "worker listening", log, { label: `worker-${i}`, onSpawn: (child) => children.push(child) });
      io.stdout(`worker-${i}  ${String(worker.ready["address"])} (${settings.preset}, ${String(worker.ready["kernel"])} attention; metrics http://${String(worker.ready["metricsAddress"])}/metrics)\n`);
    }
    const router = await spawnApp(
      "@sigmaserve/router",
      ["--nats", natsUrl, "--grpc-port", String(settings.grpcPort), "--http-port", String(settings.httpPort), ...(settings.policy === undefined ? [] : ["--policy", settings.policy]), ...(settings.otlpEndpoint === undefined ? [] : ["--otlp-endpoint", settings.otlpEndpoint]), ...(settings.traceContent ? ["--trace-content"] : []), ...logLevelFlags, ...autoscaleFlags],
      "router listening",
      log,
      { label: "router", onSpawn: (child) => children.push(child) },
    );
    if (settings.autoscale !== undefined) {
      io.stdout(`autoscale ${settings.autoscale} (local-process): the router starts and stops workers with the load; see http://${String(router.ready["http"])}/status\n`);
      await untilReady(String(router.ready["http"]));
    }
    printTryLines(io, settings.preset, String(router.ready["grpc"]), String(router.ready["http"]));
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    process.off("SIGINT", onStartupSignal);
    process.off("SIGTERM", onStartupSignal);
  }
  await untilSignal(io, stopAll, (stopNow) => {
    // A child that dies on its own takes the cluster down with it.
    // (nats-server exits 1 on SIGTERM: untilSignal ignores exits that the stop itself causes.)
    for (const child of children) child.once("exit", (code, signal) => {
      if (code !== 0 && signal !== "SIGTERM") stopNow(`a cluster process exited (code ${code}, signal ${signal})`);
    });
  });
}

/** Waits until the router has a ready worker (its /readyz answers 200): the autoscaler starts the first ones. */
async function untilReady(httpAddress: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`http://${httpAddress}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no worker became ready within ${timeoutMs / 1000} s`);
}
