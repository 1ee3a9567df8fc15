/** `sigmaserve status`: the router's view of the cluster (GET /v1/cluster): workers, load, K and V usage per tier. */
import type { CommandIo } from "../command-io.js";
import { parseCommand, type CommandSpec } from "../parse-command.js";

const SPEC: CommandSpec = {
  name: "status",
  usage: `usage: sigmaserve status [--http 127.0.0.1:8000] [--api-key KEY] [--json]`,
  options: { http: { type: "string" }, "api-key": { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } },
  maxPositionals: 0,
};

interface ClusterStatus {
  workers?: { id: string; address: string; model?: string; state?: string; running?: number; waiting?: number; kv?: unknown }[];
}

export async function status(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  if (values.help === true) return void io.stdout(`${SPEC.usage}\n`);
  const base = (values.http as string | undefined) ?? "127.0.0.1:8000";
  const key = values["api-key"] as string | undefined;
  const response = await fetch(`http://${base}/v1/cluster`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  if (!response.ok) throw new Error(`GET http://${base}/v1/cluster: ${response.status} ${await response.text()}`);
  const cluster = (await response.json()) as ClusterStatus;
  if (values.json === true) return void io.stdout(`${JSON.stringify(cluster, null, 2)}\n`);
  for (const worker of cluster.workers ?? []) {
    io.stdout(`${worker.id}  ${worker.address}  ${worker.model ?? ""}  ${worker.state ?? ""}  running ${worker.running ?? 0}  waiting ${worker.waiting ?? 0}  kv ${JSON.stringify(worker.kv ?? {})}\n`);
  }
  if ((cluster.workers ?? []).length === 0) io.stdout("no workers\n");
}
