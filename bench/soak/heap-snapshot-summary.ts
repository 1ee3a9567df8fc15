/**
 * Reads a V8 .heapsnapshot (what `node --heapsnapshot-signal` writes) and
 * sums its nodes by kind: `<node type>:<constructor or name>` (strings,
 * numbers and code grouped by type alone), with counts and self sizes, so
 * that two snapshots of one process can be diffed to see what grew.
 */
import { readFile } from "node:fs/promises";

interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  count: number;
  selfBytes: number;
}

/** Types whose name is the content (a string's text, a number), not a constructor: grouped by type only. */
const BY_TYPE_ONLY = new Set(["string", "concatenated string", "sliced string", "number", "code", "heap number", "bigint", "hidden"]);

export async function summarizeHeapSnapshot(path: string): Promise<{ totalBytes: number; nodes: number; groups: Map<string, HeapGroup> }> {
  const json = JSON.parse(await readFile(path, "utf8")) as HeapSnapshotJson;
  const fields = json.snapshot.meta.node_fields;
  const types = json.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const groups = new Map<string, HeapGroup>();
  let totalBytes = 0;
  for (let i = 0; i < json.nodes.length; i += stride) {
    const type = types[json.nodes[i + typeAt]!]!;
    const size = json.nodes[i + sizeAt]!;
    const key = BY_TYPE_ONLY.has(type) ? `(${type})` : `${type}:${json.strings[json.nodes[i + nameAt]!]!.slice(0, 60)}`;
    const group = groups.get(key) ?? { count: 0, selfBytes: 0 };
    group.count++;
    group.selfBytes += size;
    groups.set(key, group);
    totalBytes += size;
  }
  return { totalBytes, nodes: json.nodes.length / stride, groups };
}

/** The groups that grew most from `before` to `after`, by self size. */
export function heapGrowth(before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, top: number): { group: string; countBefore: number; countAfter: number; kibBefore: number; kibAfter: number }[] {
  return [...after.entries()]
    .map(([group, a]) => {
      const b = before.get(group) ?? { count: 0, selfBytes: 0 };
      return { group, countBefore: b.count, countAfter: a.count, kibBefore: Math.round(b.selfBytes / 1024), kibAfter: Math.round(a.selfBytes / 1024) };
    })
    .sort((x, y) => y.kibAfter - y.kibBefore - (x.kibAfter - x.kibBefore))
    .slice(0, top);
}
