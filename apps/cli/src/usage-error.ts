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

/** Ends the command with this exit code and nothing more to print (a child process already said why). */
export class ExitCode extends Error {
  override readonly name = "ExitCode";
  constructor(readonly code: number) {
    super(`exit code ${code}`);
  }
}
