/**
 * A nats-server for `sigmaserve up`, when one is installed and no --nats URL
 * was given: JetStream in a temporary directory, client port picked by the
 * server (-p -1), bound to 127.0.0.1. Its URL is read from its log.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";

/** The nats-server binary on PATH or in the Debian locations, or undefined. */
export function findNatsServer(path: string | undefined): string | undefined {
  const dirs = [...(path ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/local/bin"].filter((dir) => dir !== "");
  return dirs.map((dir) => join(dir, "nats-server")).find((candidate) => existsSync(candidate));
}

export async function launchNatsServer(binary: string): Promise<{ url: string; child: ChildProcess }> {
  const store = await mkdtemp(join(tmpdir(), "sigmaserve-up-nats-"));
  const child = spawn(binary, ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", store], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`nats-server exited (code ${code}) before it listened`)));
    createInterface({ input: child.stderr! }).on("line", (line) => {
      const match = /Listening for client connections on (\S+)/.exec(line);
      if (match !== null) resolve({ url: `nats://${match[1]}`, child });
    });
  });
}
