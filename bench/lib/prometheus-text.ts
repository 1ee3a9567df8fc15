/**
 * Reads the Prometheus text format a /metrics endpoint answers, enough for a
 * bench to pick series out: one sample per line, `name{labels} value`,
 * comments skipped. Label values are unescaped for \" and \\ only.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? "").matchAll(LABEL)) labels[key!] = raw!.replace(/\\(["\\])/g, "$1");
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of every sample of `name` whose labels include `where`. */
export function sumOf(samples: readonly PromSample[], name: string, where: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/** GETs `http://<address>/metrics` (with a bearer key when given) and parses it. */
export async function scrapeMetrics(address: string, apiKey?: string): Promise<PromSample[]> {
  const response = await fetch(`http://${address}/metrics`, { headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${address}/metrics answered ${response.status}`);
  return parsePrometheusText(await response.text());
}
