import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { UsageError } from "../usage-error.js";
import { keysHash } from "./keys-hash.js";

async function run(stdin: string): Promise<string> {
  let stdout = "";
  await keysHash([], { stdout: (t) => void (stdout += t), stderr: () => {} }, async () => stdin);
  return stdout;
}

test("keys hash - prints sha256:HEX of the key on stdin, one trailing newline dropped", async () => {
  const expected = `sha256:${createHash("sha256").update("sk-tenant-a-0123").digest("hex")}\n`;
  assert.equal(await run("sk-tenant-a-0123\n"), expected);
  assert.equal(await run("sk-tenant-a-0123"), expected);
  await assert.rejects(run("\n"), (err: unknown) => err instanceof UsageError && /no key on stdin/.test(err.message));
});
