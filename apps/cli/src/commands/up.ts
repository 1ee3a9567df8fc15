/**
 * `sigmaserve up`: a local cluster on the demo model. With --nats URL the
 * workers and the router coordinate over that server; without it, a
 * nats-server is started when one is installed; failing that, the router is
 * given the workers' addresses directly (no bus: routing relies on its own
 * speculation instead of KV events). Ctrl-C stops every child cleanly
 * (workers drain first).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { CommandIo } from "../command-io.js";
import { integerFlag, parseCommand, type CommandSpec } from "../parse-command.js";
import { findNatsServer, launchNatsServer } from "./nats-launcher.js";
import { spawnApp } from "./spawn-app.js";

const SPEC: CommandSpec = {
  name: "up",
  usage: `usage: sigmaserve up [--workers 2] [--nats URL] [--preset sigma-tiny] [--grpc-port 50051] [--http-port 8000] [--policy kv_aware] [--verbose]

  Starts a local cluster: N workers on the demo model and a router.
  --nats      use this NATS server; without it one is started when nats-server is installed
  --verbose   echo every JSON log line of the children`,
  options: {
    workers: { type: "string" },
    nats: { type: "string" },
    preset: { type: "string" },
    "grpc-port": { type: "string" },
    "http-port": { type: "string" },
    policy: { type: "string" },
    verbose: { type: "boolean" },
    help: { type: "boolean" },
  },
  maxPositionals: 0,
};

export async function up(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const count = integerFlag(values.workers as string | undefined, "--workers", SPEC.usage, { min: 1, fallback: 2 })!;
  const grpcPort = integerFlag(values["grpc-port"] as string | undefined, "--grpc-port", SPEC.usage, { min: 0, fallback: 50051 })!;
  const httpPort = integerFlag(values["http-port"] as string | undefined, "--http-port", SPEC.usage, { min: 0, fallback: 8000 })!;
  const preset = (values.preset as string | undefined) ?? "sigma-tiny";
  const log = values.verbose === true ? (line: string) => io.stderr(`${line}\n`) : () => {};
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
  try {
    let natsUrl = values.nats as string | undefined;
    if (natsUrl === undefined) {
      const binary = findNatsServer(process.env["PATH"]);
      if (binary !== undefined) {
        const nats = await launchNatsServer(binary);
        children.push(nats.child);
        natsUrl = nats.url;
        io.stdout(`nats      ${natsUrl} (started)\n`);
      } else io.stdout("nats      not installed: the router gets the worker addresses directly\n");
    } else io.stdout(`nats      ${natsUrl}\n`);
    const addresses: string[] = [];
    for (let i = 0; i < count; i++) {
      const worker = await spawnApp("@sigmaserve/worker", ["--preset", preset, "--port", "0", "--worker-id", `worker-${i}`, ...(natsUrl === undefined ? [] : ["--nats", natsUrl])], "worker listening", log);
      children.push(worker.child);
      addresses.push(worker.ready["address"] as string);
      io.stdout(`worker-${i}  ${String(worker.ready["address"])} (${preset}, ${String(worker.ready["kernel"])} attention)\n`);
    }
    const router = await spawnApp(
      "@sigmaserve/router",
      [
        ...(natsUrl === undefined ? ["--workers", addresses.join(",")] : ["--nats", natsUrl]),
        "--grpc-port",
        String(grpcPort),
        "--http-port",
        String(httpPort),
        ...(values.policy === undefined ? [] : ["--policy", values.policy as string]),
      ],
      "router listening",
      log,
    );
    children.push(router.child);
    io.stdout(`router    grpc ${String(router.ready["grpc"])}  http http://${String(router.ready["http"])}\n`);
    io.stdout(`\ntry:  curl -s http://${String(router.ready["http"])}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${preset}","messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'\n`);
    io.stdout(`      sigmaserve generate "Hello" --address ${String(router.ready["grpc"])} --stream\nCtrl-C stops the cluster.\n`);
  } catch (err) {
    await stopAll();
    throw err;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      io.stdout("\nstopping...\n");
      void stopAll().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // A child that dies on its own takes the cluster down with it.
    for (const child of children) child.once("exit", (code, signal) => {
      if (code !== 0 && signal !== "SIGTERM") {
        io.stderr(`a cluster process exited (code ${code}, signal ${signal}); stopping\n`);
        stop();
      }
    });
  });
}
