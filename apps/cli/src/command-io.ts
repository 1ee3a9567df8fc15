/** Where a command writes; the process streams in production, buffers in tests. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}
