/** The first of `names` found executable on PATH or in /usr/bin, or an error that says how to install it. */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export function findBinary(names: readonly string[], installHint: string): string {
  for (const dir of [...(process.env["PATH"] ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"]) {
    for (const name of names) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  throw new Error(`${names[0]} was not found on PATH: ${installHint}`);
}
