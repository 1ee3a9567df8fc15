import * as assert from "node:assert/strict";
import { test } from "node:test";
import { LogTail } from "./log-tail.js";

test("log-tail - joins lines split across chunks and keeps only the last ones", () => {
  const tail = new LogTail(2);
  const seen: string[] = [];
  tail.push("one\ntw", (line) => seen.push(line));
  tail.push("o\nthree\nfou", (line) => seen.push(line));
  assert.deepEqual(seen, ["one", "two", "three"]);
  assert.deepEqual(tail.lines(), ["three", "fou"]);
});
