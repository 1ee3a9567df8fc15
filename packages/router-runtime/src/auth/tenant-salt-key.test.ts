import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createMemoryCoordBus, MemoryCoordHub } from "@sigmaserve/coord";
import { pino } from "pino";
import { RouterConfigError } from "../errors.js";
import { resolveTenantSalts } from "./tenant-salt-key.js";
import { TenantSalts } from "./tenant-salts.js";

const logger = pino({ level: "silent" });

test("tenant-salt-key - a key file shorter than 32 bytes, or missing, fails closed; 32 bytes key the salts", async () => {
  const dir = await mkdtemp(join(tmpdir(), "salt-key-"));
  try {
    const short = join(dir, "short");
    await writeFile(short, "x".repeat(31));
    await assert.rejects(resolveTenantSalts({ file: short, logger }), (err: unknown) => {
      assert.ok(err instanceof RouterConfigError);
      assert.equal(err.message, `--tenant-salt-key-file: ${short} holds 31 bytes; a salt key needs at least 32 (e.g. head -c 32 /dev/urandom > ${short})`);
      return true;
    });
    await assert.rejects(resolveTenantSalts({ file: join(dir, "none"), logger }), (err: unknown) => err instanceof RouterConfigError && err.message === `--tenant-salt-key-file: cannot read ${join(dir, "none")} (ENOENT)`);
    await assert.rejects(resolveTenantSalts({ key: "too-short", logger }), (err: unknown) => err instanceof RouterConfigError && !err.message.includes("too-short"));
    const good = join(dir, "good");
    await writeFile(good, Buffer.alloc(32, 1));
    const fromFile = await resolveTenantSalts({ file: good, key: "ignored".repeat(8), logger });
    assert.equal(fromFile.source, "file");
    assert.equal(fromFile.salts.saltFor("alpha"), new TenantSalts(Buffer.alloc(32, 1)).saltFor("alpha"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tenant-salt-key - two routers on one bus derive the same salts; without a bus each process has its own", async () => {
  const hub = new MemoryCoordHub();
  const [busA, busB] = [createMemoryCoordBus({ hub }), createMemoryCoordBus({ hub })];
  try {
    const [a, b] = await Promise.all([resolveTenantSalts({ bus: busA, logger }), resolveTenantSalts({ bus: busB, logger })]);
    assert.deepEqual([a.source, b.source], ["bus", "bus"]);
    assert.equal(a.salts.saltFor("alpha"), b.salts.saltFor("alpha"));
    assert.notEqual(a.salts.saltFor("alpha"), a.salts.saltFor("beta"));
    const [p, q] = [await resolveTenantSalts({ logger }), await resolveTenantSalts({ logger })];
    assert.equal(p.source, "process");
    assert.notEqual(p.salts.saltFor("alpha"), q.salts.saltFor("alpha"));
  } finally {
    await busA.close();
    await busB.close();
    hub.close();
  }
});
