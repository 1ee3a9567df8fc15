/**
 * The one mapping between the cache's K/V vocabulary (`"k"` / `"v"`,
 * `"device"` / `"host"`, as @sigmaserve/kvcache names them) and the proto
 * enums `kvv1.KvComponent` / `kvv1.KvTier` that travel on the bus and over
 * gRPC. Every package that crosses that line (the KV-event codec here, the
 * worker's load and capacity reports, its KV import, the router's cluster
 * status) uses these functions, so the mapping is written once. The pools'
 * element types (`"f32"` / `"bf16"` / `"f16"`, kvcache's KvDtype) map to
 * `kvv1.KvDtype` the same way: they travel in the registry's capacity entries.
 *
 * NOTE: the `FromProto` direction returns `undefined` for UNSPECIFIED and for
 * a number this build does not know (proto3 enums are open: a newer peer may
 * send one), never a guess. What "unknown" means is the caller's decision: the
 * codec makes it a KvDecodeError, a gRPC handler an INVALID_ARGUMENT, a status
 * page leaves the pool out.
 */
import type { KvSnapshot } from "@sigmaserve/kvcache/events";
import { kvv1 } from "@sigmaserve/proto";
import { CoordArgumentError } from "../errors.js";

// NOTE: read off the event types of @sigmaserve/kvcache/events (the only kvcache entry coord imports), so they cannot drift.
type ResidencyGroup = KvSnapshot["residency"][number];
/** `"k"` or `"v"`. */
export type KvComponent = ResidencyGroup["component"];
/** `"device"` or `"host"`. */
export type KvTier = ResidencyGroup["tier"];

const COMPONENT_TO_PROTO: Readonly<Record<KvComponent, kvv1.KvComponent>> = { k: kvv1.KvComponent.K, v: kvv1.KvComponent.V };
const TIER_TO_PROTO: Readonly<Record<KvTier, kvv1.KvTier>> = { device: kvv1.KvTier.DEVICE, host: kvv1.KvTier.HOST };
const COMPONENT_FROM_PROTO: ReadonlyMap<number, KvComponent> = new Map([
  [kvv1.KvComponent.K, "k"],
  [kvv1.KvComponent.V, "v"],
]);
const TIER_FROM_PROTO: ReadonlyMap<number, KvTier> = new Map([
  [kvv1.KvTier.DEVICE, "device"],
  [kvv1.KvTier.HOST, "host"],
]);

/** `"f32"`, `"bf16"` or `"f16"`: how a pool stores its elements (kvcache's KvDtype, which coord does not import). */
export type KvDtype = "f32" | "bf16" | "f16";
const DTYPE_TO_PROTO: Readonly<Record<KvDtype, kvv1.KvDtype>> = { f32: kvv1.KvDtype.F32, bf16: kvv1.KvDtype.BF16, f16: kvv1.KvDtype.F16 };
const DTYPE_FROM_PROTO: ReadonlyMap<number, KvDtype> = new Map([
  [kvv1.KvDtype.F32, "f32"],
  [kvv1.KvDtype.BF16, "bf16"],
  [kvv1.KvDtype.F16, "f16"],
]);

/** `"f32"` → KV_DTYPE_F32, `"bf16"` → KV_DTYPE_BF16, `"f16"` → KV_DTYPE_F16. Throws CoordArgumentError for anything else (a local bug). */
export function kvDtypeToProto(dtype: KvDtype, field = "dtype"): kvv1.KvDtype {
  const value = Object.hasOwn(DTYPE_TO_PROTO, dtype) ? DTYPE_TO_PROTO[dtype] : undefined;
  if (value === undefined) throw new CoordArgumentError(field, `must be "f32", "bf16" or "f16", got ${JSON.stringify(dtype)}`);
  return value;
}

/** KV_DTYPE_F32 → `"f32"`, KV_DTYPE_BF16 → `"bf16"`, KV_DTYPE_F16 → `"f16"`; undefined for UNSPECIFIED or an unknown number. */
export function kvDtypeFromProto(dtype: kvv1.KvDtype): KvDtype | undefined {
  return DTYPE_FROM_PROTO.get(dtype);
}

/** `"k"` → KV_COMPONENT_K, `"v"` → KV_COMPONENT_V. Throws CoordArgumentError for anything else (a local bug). */
export function kvComponentToProto(component: KvComponent, field = "component"): kvv1.KvComponent {
  const value = Object.hasOwn(COMPONENT_TO_PROTO, component) ? COMPONENT_TO_PROTO[component] : undefined;
  if (value === undefined) throw new CoordArgumentError(field, `must be "k" or "v", got ${JSON.stringify(component)}`);
  return value;
}

/** `"device"` → KV_TIER_DEVICE, `"host"` → KV_TIER_HOST. Throws CoordArgumentError for anything else (a local bug). */
export function kvTierToProto(tier: KvTier, field = "tier"): kvv1.KvTier {
  const value = Object.hasOwn(TIER_TO_PROTO, tier) ? TIER_TO_PROTO[tier] : undefined;
  if (value === undefined) throw new CoordArgumentError(field, `must be "device" or "host", got ${JSON.stringify(tier)}`);
  return value;
}

/** KV_COMPONENT_K → `"k"`, KV_COMPONENT_V → `"v"`; undefined for UNSPECIFIED or an unknown number. */
export function kvComponentFromProto(component: kvv1.KvComponent): KvComponent | undefined {
  return COMPONENT_FROM_PROTO.get(component);
}

/** KV_TIER_DEVICE → `"device"`, KV_TIER_HOST → `"host"`; undefined for UNSPECIFIED or an unknown number. */
export function kvTierFromProto(tier: kvv1.KvTier): KvTier | undefined {
  return TIER_FROM_PROTO.get(tier);
}
