/** `sigmaserve status`: the router's view of the cluster (GET /v1/cluster): workers, load, K and V usage per tier. */
import type { CommandIo } from "../command-io.js";
import { ADDRESS_ENV, API_KEY_ENV, API_KEY_FLAG, addressFlag, resolveAddress, resolveApiKey } from "../address.js";
import { defineCommand, parseCommand } from "../parse-command.js";

export const SPEC = defineCommand({
  name: "status",
  summary: "The router's view of the cluster (GET /v1/cluster): workers, load, K and V usage per tier.",
  flags: {
    address: addressFlag("http"),
    http: { type: "string", value: "ADDR", aliasOf: "address", description: "" },
    "api-key": API_KEY_FLAG,
    json: { type: "boolean", description: "the router's JSON as it is (snake_case)" },
  },
  maxPositionals: 0,
  notes: `environment: ${ADDRESS_ENV} (the router's address), ${API_KEY_ENV} (the API key); flags win.`,
});

type TierUsage = { used_blocks?: number; cached_free_blocks?: number; total_blocks?: number } | null | undefined;

interface ClusterStatus {
  workers?: {
    id: string;
    address: string;
    model?: string;
    state?: string;
    running_requests?: number;
    waiting_requests?: number;
    kv_usage?: Record<"k" | "v", Record<"device" | "host", TierUsage> | undefined>;
    kv_pressure?: { k?: number; v?: number };
  }[];
}

/** "K device 3/64 (5 cached)": used of total blocks, per component and tier that exists. */
function usageText(usage: NonNullable<ClusterStatus["workers"]>[number]["kv_usage"]): string {
  const parts: string[] = [];
  for (const component of ["k", "v"] as const) {
    for (const tier of ["device", "host"] as const) {
      const u = usage?.[component]?.[tier];
      if (u === null || u === undefined || !u.total_blocks) continue;
      parts.push(`${component.toUpperCase()} ${tier} ${u.used_blocks ?? 0}/${u.total_blocks} (${u.cached_free_blocks ?? 0} cached)`);
    }
  }
  return parts.join(", ");
}

/** "pressure K 0.10 V 0.16": the pinned share of the pool each component's new blocks land in. */
function pressureText(pressure: NonNullable<ClusterStatus["workers"]>[number]["kv_pressure"]): string {
  if (pressure === undefined) return "";
  return `  pressure K ${(pressure.k ?? 0).toFixed(2)} V ${(pressure.v ?? 0).toFixed(2)}`;
}

export async function status(argv: string[], io: CommandIo): Promise<void> {
  const { values } = parseCommand(SPEC, argv);
  const base = resolveAddress(values.address as string | undefined, process.env, "http", SPEC.usage);
  const key = resolveApiKey(values["api-key"] as string | undefined, process.env);
  const url = `${base}/v1/cluster`;
  const response = await fetch(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } }).catch((err: Error) => {
    throw new Error(`GET ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${(await response.text()).trim()}`);
  const cluster = (await response.json()) as ClusterStatus;
  if (values.json === true) return void io.stdout(`${JSON.stringify(cluster, null, 2)}\n`); // already snake_case; its keys include ids
  for (const worker of cluster.workers ?? []) {
    io.stdout(`${worker.id}  ${worker.address}  ${worker.model ?? ""}  ${worker.state ?? ""}  running ${worker.running_requests ?? 0}  waiting ${worker.waiting_requests ?? 0}  ${usageText(worker.kv_usage)}${pressureText(worker.kv_pressure)}\n`);
  }
  if ((cluster.workers ?? []).length === 0) io.stdout("no workers\n");
}
