import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { hashApiKey } from "./api-key-digest.js";
import { ApiKeys } from "./api-keys.js";
import { ApiKeysReloader } from "./api-keys-reloader.js";

/** A logger that keeps its lines (level and message). */
function recordingLogger(): { logger: pino.Logger; lines: { level: number; msg: string; err?: string }[] } {
  const lines: { level: number; msg: string; err?: string }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

async function withKeysFile(body: (file: string, write: (json: unknown) => Promise<void>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "api-keys-"));
  const file = join(dir, "keys.json");
  // Written by rename, as the docs ask: a poll never sees half a file.
  const write = async (json: unknown) => {
    await writeFile(`${file}.tmp`, typeof json === "string" ? json : JSON.stringify(json));
    await rename(`${file}.tmp`, file);
  };
  try {
    await body(file, write);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("api-keys-reloader - a reload swaps in the new file; a bad, empty or missing file keeps the old keys and logs an error", async () => {
  await withKeysFile(async (file, write) => {
    await write({ "k-old": "alpha" });
    const keys = await ApiKeys.load({ file });
    const { logger, lines } = recordingLogger();
    const reloader = new ApiKeysReloader(keys, file, logger);
    await write({ [hashApiKey("k-new")]: "alpha", "k-beta": { tenant: "beta", requestsPerS: 1 } });
    assert.equal(await reloader.reload(), true);
    assert.equal(keys.authenticate("Bearer k-new").id, "alpha");
    assert.throws(() => keys.authenticate("Bearer k-old"), /unknown API key/);
    for (const bad of ['{"k-x": ', "{}", ""]) {
      await write(bad);
      assert.equal(await reloader.reload(), false);
      assert.equal(keys.authenticate("k-new").id, "alpha", "still the keys from before");
      assert.equal(keys.enabled, true, "never open");
    }
    await rm(file);
    assert.equal(await reloader.reload(), false);
    assert.equal(keys.size, 2);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [[30, "API keys reloaded"], ...Array.from({ length: 4 }, () => [50, "API keys reload failed; the keys loaded before stay in force"])],
    );
    assert.match(lines[2]!.err!, /holds no keys; an empty table would open the router/);
  });
});

test("api-keys-reloader - a change to the file is picked up by the poll, without a restart", async () => {
  await withKeysFile(async (file, write) => {
    await write({ "k-1": "alpha" });
    const keys = await ApiKeys.load({ file });
    const reloader = new ApiKeysReloader(keys, file, pino({ level: "silent" }), 20);
    reloader.start();
    try {
      await write({ "k-2": "beta" });
      const tenantOf = (key: string) => {
        try {
          return keys.authenticate(key).id;
        } catch {
          return undefined;
        }
      };
      // Bounded by a count, not a time: the poll runs every 20 ms.
      for (let i = 0; i < 500 && tenantOf("k-2") === undefined; i++) await sleep(10);
      assert.equal(tenantOf("k-2"), "beta");
      assert.throws(() => keys.authenticate("k-1"), /unknown API key/);
    } finally {
      reloader.stop();
    }
  });
});
