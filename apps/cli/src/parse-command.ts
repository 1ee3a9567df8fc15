/**
 * Argument parsing on node:util's parseArgs (strict: unknown flags and
 * missing values are errors), turned into UsageError with the command's
 * usage text, plus the small validators every command shares.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { PRESET_NAMES, isPresetName } from "@sigmaserve/model/config";
import { UsageError } from "./usage-error.js";

export interface CommandSpec {
  /** "model make" */
  name: string;
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Most positional arguments accepted. */
  maxPositionals: number;
}

export function parseCommand(spec: CommandSpec, argv: string[]) {
  try {
    const parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true });
    if (parsed.positionals.length > spec.maxPositionals) {
      throw new UsageError(`unexpected argument "${parsed.positionals[spec.maxPositionals]}"`, spec.usage);
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/, ""), spec.usage);
  }
}

export function requirePreset(value: string | undefined, usage: string, flag = "--preset"): string {
  if (value === undefined) throw new UsageError(`${flag} is required (one of ${PRESET_NAMES.join(", ")})`, usage);
  if (!isPresetName(value)) throw new UsageError(`${flag} "${value}" is not a preset (one of ${PRESET_NAMES.join(", ")})`, usage);
  return value;
}

/** A non-negative integer flag ("--seed 0"), or the default when absent. */
export function integerFlag(value: string | undefined, flag: string, usage: string, options: { min: number; fallback?: number }): number | undefined {
  if (value === undefined) return options.fallback;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < options.min) {
    throw new UsageError(`${flag} must be an integer >= ${options.min}, got "${value}"`, usage);
  }
  return Number(value);
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(value: string | undefined, flag: string, choices: readonly T[], fallback: T, usage: string): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got "${value}"`, usage);
  return value as T;
}
