/**
 * Keeps the last lines of a process's output, for error messages. Chunks from
 * a pipe can split a line anywhere, so a partial last line is held until its newline arrives.
 */

/** Lines kept by default: enough to show a fatal error and the startup lines before it. */
export const DEFAULT_LOG_TAIL_LINES = 30;

export class LogTail {
  readonly #maxLines: number;
  readonly #lines: string[] = [];
  #partial = "";

  constructor(maxLines: number = DEFAULT_LOG_TAIL_LINES) {
    this.#maxLines = maxLines;
  }

  /** Adds a chunk of output; calls `onLine` for each line it completes. */
  push(chunk: string, onLine?: (line: string) => void): void {
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      this.#lines.push(line);
      onLine?.(line);
    }
    if (this.#lines.length > this.#maxLines) {
      this.#lines.splice(0, this.#lines.length - this.#maxLines);
    }
  }

  /** The kept lines, oldest first, including an unfinished last line. */
  lines(): string[] {
    const lines = this.#partial === "" ? [...this.#lines] : [...this.#lines, this.#partial];
    return lines.slice(-this.#maxLines);
  }
}
