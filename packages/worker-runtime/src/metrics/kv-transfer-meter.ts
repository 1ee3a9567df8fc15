/** Where KV transfers report what moved: the worker's metrics (worker-metrics.ts), or nothing. */
import type { KvComponent } from "@sigmaserve/kvcache";

export interface KvTransferMeter {
  /** Payload bytes of one frame that arrived (a migration pull or ImportKv). */
  received(component: KvComponent, bytes: number): void;
  /** Payload bytes of one frame sent (ExportKv). */
  sent(component: KvComponent, bytes: number): void;
  /** A migration pull ended: its duration in seconds, whether it completed, and what became of its blocks. */
  pullEnded(seconds: number, completed: boolean, blocks: { imported: number; refused: number }): void;
}
