/**
 * `sigmaserve up`: a local cluster on the demo model. With --nats URL the
 * worker and router processes coordinate over that server; without it, a
 * nats-server is started when one is installed; failing that (or with
 * --single-process) the workers and the router run in this process on the
 * in-memory bus. Ctrl-C stops everything cleanly (workers drain first).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { captureMessageContentFromEnv, startTracing, traceLogFields } from "@sigmaserve/telemetry";
import { pino } from "pino";
import type { CommandIo } from "../command-io.js";
import { integerFlag, parseCommand, type CommandSpec } from "../parse-command.js";
import { UsageError } from "../usage-error.js";
import { findNatsServer, launchNatsServer } from "./nats-launcher.js";
import { startSingleProcessCluster } from "./single-process-cluster.js";
import { appEntryPoint, spawnApp } from "./spawn-app.js";

const SPEC: CommandSpec = {
  name: "up",
  usage: `usage: sigmaserve up [--workers 2] [--nats URL | --single-process] [--preset sigma-tiny] [--grpc-port 50051] [--http-port 8000] [--policy kv_aware]
                    [--autoscale MIN..MAX] [--otlp-endpoint URL [--trace-content]] [--verbose]

  Starts a local cluster: N workers on the demo model and a router.
  --nats            use this NATS server; without it one is started when nats-server is installed
  --single-process  workers and router in this process on the in-memory bus (the default without nats-server)
  --autoscale       the router starts and stops worker processes with the load, between MIN and MAX
                    (local-process provider; needs nats-server; --workers is then ignored)
  --otlp-endpoint   send traces over OTLP/HTTP to this collector (http://host:4318); default: OTEL_EXPORTER_OTLP_ENDPOINT, else off
  --trace-content   record prompt and output text on the router's spans (never by default); also
                    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true|SPAN_ONLY|SPAN_AND_EVENT
  --verbose         echo every JSON log line of the cluster`,
  options: {
    workers: { type: "string" },
    nats: { type: "string" },
    "single-process": { type: "boolean" },
    preset: { type: "string" },
    "grpc-port": { type: "string" },
    "http-port": { type: "string" },
    policy: { type: "string" },
    "otlp-endpoint": { type: "string" },
    "trace-content": { type: "boolean" },
    autoscale: { type: "string" },
    verbose: { type: "boolean" },
    help: { type: "boolean" },
  },
  maxPositionals: 0,
};

/** How the cluster coordinates: a given NATS URL, a nats-server we start, or one process on the memory bus. */
export type UpMode = { kind: "nats-url"; url: string } | { kind: "start-nats"; binary: string } | { kind: "single-process"; reason: "asked" | "no nats-server" };

export function chooseUpMode(options: { nats?: string; singleProcess: boolean; natsBinary: string | undefined }): UpMode {
  if (options.nats !== undefined && options.singleProcess) throw new UsageError("give --nats or --single-process, not both", SPEC.usage);
  if (options.nats !== undefined) return { kind: "nats-url", url: options.nats };
  if (options.singleProcess) return { kind: "single-process", reason: "asked" };
  return options.natsBinary === undefined ? { kind: "single-process", reason: "no nats-server" } : { kind: "start-nats", binary: options.natsBinary };
}

interface UpSettings {
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
  verbose: boolean;
}

export async function up(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const settings: UpSettings = {
    count: integerFlag(values.workers as string | undefined, "--workers", SPEC.usage, { min: 1, fallback: 2 })!,
    grpcPort: integerFlag(values["grpc-port"] as string | undefined, "--grpc-port", SPEC.usage, { min: 0, fallback: 50051 })!,
    httpPort: integerFlag(values["http-port"] as string | undefined, "--http-port", SPEC.usage, { min: 0, fallback: 8000 })!,
    preset: (values.preset as string | undefined) ?? "sigma-tiny",
    policy: values.policy as string | undefined,
    otlpEndpoint: values["otlp-endpoint"] as string | undefined,
    traceContent: values["trace-content"] === true || captureMessageContentFromEnv(process.env),
    autoscale: values.autoscale as string | undefined,
    verbose: values.verbose === true,
  };
  const mode = chooseUpMode({ nats: values.nats as string | undefined, singleProcess: values["single-process"] === true, natsBinary: findNatsServer(process.env["PATH"]) });
  if (mode.kind === "single-process") {
    if (settings.autoscale !== undefined) throw new UsageError(`--autoscale starts worker processes, which need NATS: ${mode.reason === "asked" ? "drop --single-process" : "install nats-server or give --nats URL"}`, SPEC.usage);
    return upSingleProcess(settings, mode.reason, io);
  }
  return upProcesses(settings, mode, io);
}

function printTryLines(io: CommandIo, preset: string, grpc: string, http: string): void {
  io.stdout(`router    grpc ${grpc}  http http://${http}  metrics http://${http}/metrics\n`);
  io.stdout(`\ntry:  curl -s http://${http}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${preset}","messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'\n`);
  io.stdout(`      sigmaserve generate "Hello" --address ${grpc} --stream\nCtrl-C stops the cluster.\n`);
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
  const logger = pino({ name: "sigmaserve-up", level: settings.verbose ? "info" : "warn", mixin: () => traceLogFields() }, pino.destination(2));
  io.stdout(`nats      ${reason === "asked" ? "not used" : "not installed"}: workers and router run in this process on the in-memory bus\n`);
  // One provider for the whole process: its router's and workers' spans share it.
  const tracing = await startTracing({ serviceName: "sigmaserve", endpoint: settings.otlpEndpoint });
  if (tracing.enabled) io.stdout(`traces    ${tracing.tracesUrl}\n`);
  const cluster = await startSingleProcessCluster({ workers: settings.count, preset: settings.preset, grpcPort: settings.grpcPort, httpPort: settings.httpPort, traceContent: settings.traceContent, logger, ...(settings.policy === undefined ? {} : { policy: settings.policy }) });
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
  const log = settings.verbose ? (line: string) => io.stderr(`${line}\n`) : () => {};
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
            JSON.stringify([process.execPath, appEntryPoint("@sigmaserve/worker"), "--preset", settings.preset, "--port", "0", "--metrics-port", "0", "--nats", natsUrl, "--drain-migrate", ...tracingFlags]),
          ];
    for (let i = 0; i < (settings.autoscale === undefined ? settings.count : 0); i++) {
      const worker = await spawnApp("@sigmaserve/worker", ["--preset", settings.preset, "--port", "0", "--metrics-port", "0", "--worker-id", `worker-${i}`, "--nats", natsUrl, ...tracingFlags], "worker listening", log);
      children.push(worker.child);
      io.stdout(`worker-${i}  ${String(worker.ready["address"])} (${settings.preset}, ${String(worker.ready["kernel"])} attention; metrics http://${String(worker.ready["metricsAddress"])}/metrics)\n`);
    }
    const router = await spawnApp(
      "@sigmaserve/router",
      ["--nats", natsUrl, "--grpc-port", String(settings.grpcPort), "--http-port", String(settings.httpPort), ...(settings.policy === undefined ? [] : ["--policy", settings.policy]), ...(settings.otlpEndpoint === undefined ? [] : ["--otlp-endpoint", settings.otlpEndpoint]), ...(settings.traceContent ? ["--trace-content"] : []), ...autoscaleFlags],
      "router listening",
      log,
    );
    children.push(router.child);
    if (settings.autoscale !== undefined) {
      io.stdout(`autoscale ${settings.autoscale} (local-process): the router starts and stops workers with the load; see http://${String(router.ready["http"])}/status\n`);
      await untilReady(String(router.ready["http"]));
    }
    printTryLines(io, settings.preset, String(router.ready["grpc"]), String(router.ready["http"]));
  } catch (err) {
    await stopAll();
    throw err;
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
