/** A command line the CLI cannot run: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** Exit codes: 0 ok, 1 the command failed, 2 the command line is wrong (as in POSIX utilities). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
