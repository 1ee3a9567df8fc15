import * as assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NatsServerNotFoundError } from "./errors.js";
import { EXTRA_SEARCH_DIRS, defaultSearchDirs, findNatsServer } from "./find-nats-server.js";

test("find-nats-server - finds Debian's server even when PATH lacks /usr/sbin", () => {
  const found = findNatsServer({ searchDirs: ["/nonexistent", ...EXTRA_SEARCH_DIRS] });
  assert.match(found, /\/nats-server$/);
});

test("find-nats-server - the default search covers the sbin folders, once each", () => {
  const dirs = defaultSearchDirs();
  for (const dir of EXTRA_SEARCH_DIRS) assert.equal(dirs.filter((d) => d === dir).length, 1, dir);
});

test("find-nats-server - nothing in the search folders is a NatsServerNotFoundError naming apt-get", async (t) => {
  const emptyDir = await mkdtemp(join(tmpdir(), "testkit-empty-"));
  t.after(() => rm(emptyDir, { recursive: true, force: true }));
  assert.throws(
    () => findNatsServer({ searchDirs: [emptyDir] }),
    (err: unknown) =>
      err instanceof NatsServerNotFoundError &&
      err.message.includes("apt-get install -y nats-server") &&
      err.searched.length === 1 &&
      err.searched[0] === join(emptyDir, "nats-server"),
  );
});

test("find-nats-server - a directory is not an executable", () => {
  assert.throws(() => findNatsServer({ binary: "/usr/sbin" }), NatsServerNotFoundError);
});
