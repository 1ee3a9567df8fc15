/**
 * Locates the nats-server executable: an explicit path, or a search of PATH
 * plus the sbin folders.
 *
 * Debian installs nats-server as /usr/sbin/nats-server, and the PATH that test
 * runners and CI give to non-root users often lacks /usr/sbin, so those folders
 * are always searched after PATH.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { NATS_SERVER_INSTALL_HINT, NatsServerNotFoundError } from "./errors.js";

/** The executable's file name. */
export const NATS_SERVER_BINARY_NAME = "nats-server";

/** Searched after PATH: Debian's package puts the server in /usr/sbin. */
export const EXTRA_SEARCH_DIRS: readonly string[] = ["/usr/sbin", "/usr/local/sbin"];

export interface FindNatsServerOptions {
  /**
   * A path to the executable, or a bare name to look up in the search folders.
   * Default: "nats-server".
   */
  binary?: string;
  /**
   * Folders to search, in order. Default: the folders of this process's PATH,
   * then EXTRA_SEARCH_DIRS.
   */
  searchDirs?: readonly string[];
}

/** Returns the absolute path of a usable nats-server, or throws NatsServerNotFoundError. */
export function findNatsServer(options: FindNatsServerOptions = {}): string {
  const binary = options.binary ?? NATS_SERVER_BINARY_NAME;
  const candidates = binary.includes("/")
    ? [resolve(binary)]
    : (options.searchDirs ?? defaultSearchDirs())
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, binary));

  for (const candidate of candidates) {
    if (isExecutableFile(candidate)) return candidate;
  }
  const where = binary.includes("/") ? `at ${candidates[0]}` : `on PATH or in ${EXTRA_SEARCH_DIRS.join(", ")}`;
  throw new NatsServerNotFoundError(`no executable ${binary} ${where}: ${NATS_SERVER_INSTALL_HINT}`, {
    searched: candidates,
  });
}

/** PATH's folders, then the sbin folders, without duplicates. */
export function defaultSearchDirs(): string[] {
  // NOTE: the one read of process.env in this package. Searching PATH is what
  // "find it on PATH" means; it is not configuration, which comes only from options.
  const pathDirs = (process.env["PATH"] ?? "").split(delimiter).filter((dir) => dir !== "");
  return [...new Set([...pathDirs, ...EXTRA_SEARCH_DIRS])];
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
