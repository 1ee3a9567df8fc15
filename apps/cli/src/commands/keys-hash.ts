/**
 * `sigmaserve keys hash`: the keys file's form of an API key, `sha256:<hex>`,
 * so the router's --api-keys-file need hold no key. The key is read from
 * stdin, never from an argument (arguments land in shell history and `ps`);
 * one trailing newline is dropped, so `echo "$KEY" | sigmaserve keys hash`
 * and a key file piped in both work.
 */
import { hashApiKey } from "@sigmaserve/router-runtime";
import type { CommandIo } from "../command-io.js";
import { defineCommand, parseCommand } from "../parse-command.js";
import { UsageError } from "../usage-error.js";

export const SPEC = defineCommand({
  name: "keys hash",
  summary: "Print an API key (read from stdin) as sha256:HEX, for the router's --api-keys-file.",
  flags: {},
  maxPositionals: 0,
  notes: 'example: printf %s "$KEY" | sigmaserve keys hash   →   {"sha256:…": "tenant-a"} in the keys file',
});

/** All of stdin as UTF-8. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function keysHash(argv: string[], io: CommandIo, stdin: () => Promise<string> = readStdin): Promise<void> {
  parseCommand(SPEC, argv);
  const key = (await stdin()).replace(/\r?\n$/, "");
  if (key === "") throw new UsageError("no key on stdin (pipe it in: printf %s \"$KEY\" | sigmaserve keys hash)", SPEC.usage);
  io.stdout(`${hashApiKey(key)}\n`);
}
