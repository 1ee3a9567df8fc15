/**
 * Reads Prometheus's text exposition back into samples, for tests and tools
 * that check what a /metrics endpoint says: `series` maps each sample's
 * `name{labels}` (as the exporter wrote it) to its value, and `sample` finds
 * the first one of a metric whose labels include the given ones.
 */
export type Exposition = Map<string, number>;

export function parseExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

export function sample(series: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const [key, value] of series) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) return value;
  }
  return undefined;
}
