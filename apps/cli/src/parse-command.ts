/**
 * Every command is one table: its flags with type, default and description. The help text is generated
 * from that table (so no flag goes undocumented, and no default is written twice), and node:util's
 * parseArgs parses with the same table (strict: unknown flags and missing values are usage errors).
 * `-h/--help` and `--version` are added to every command; main.ts answers them before the command runs.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { PRESET_NAMES, isPresetName } from "@sigmaserve/model/config";
import { UsageError } from "./usage-error.js";

export interface FlagSpec {
  type: "string" | "boolean";
  /** The value's placeholder in help ("N", "URL"); string flags only. */
  value?: string;
  /** The default as help shows it; absent: none (or off, for a boolean). */
  default?: string;
  description: string;
  /** One-letter alias ("h"). */
  short?: string;
  /** An old name kept working: the flag it stands for. Listed last, marked deprecated. */
  aliasOf?: string;
}

export interface CommandDefinition {
  /** "model make" */
  name: string;
  /** One line: what the command does. */
  summary: string;
  /** The positional part of the synopsis ("PROMPT"); absent: none. */
  args?: string;
  flags: Record<string, FlagSpec>;
  /** Most positional arguments accepted. */
  maxPositionals: number;
  /** Paragraphs after the flags (environment, examples). */
  notes?: string;
}

export interface CommandSpec extends CommandDefinition {
  /** The generated help text (also what a usage error points to). */
  readonly usage: string;
}

/** Flags every command has; main.ts handles them. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  help: { type: "boolean", short: "h", description: "show this help and exit" },
  version: { type: "boolean", description: "print the version and exit" },
};

export function defineCommand(definition: CommandDefinition): CommandSpec {
  return { ...definition, usage: helpText(definition) };
}

const flagLabel = (name: string, flag: FlagSpec): string =>
  `${flag.short === undefined ? "    " : `-${flag.short}, `}--${name}${flag.type === "string" ? ` ${flag.value ?? "VALUE"}` : ""}`;

/** The help: synopsis, summary, then one line per flag with its description and default. */
export function helpText(definition: CommandDefinition): string {
  const flags = Object.entries({ ...definition.flags, ...COMMON_FLAGS });
  const ordered = [...flags.filter(([, f]) => f.aliasOf === undefined), ...flags.filter(([, f]) => f.aliasOf !== undefined)];
  const width = Math.max(...ordered.map(([name, flag]) => flagLabel(name, flag).length)) + 2;
  const lines = ordered.map(([name, flag]) => {
    const description = flag.aliasOf !== undefined ? `deprecated: use --${flag.aliasOf}` : flag.description;
    const fallback = flag.default === undefined ? "" : ` (default: ${flag.default})`;
    return `  ${flagLabel(name, flag).padEnd(width)}${description}${fallback}`;
  });
  const synopsis = `usage: sigmaserve ${definition.name}${definition.args === undefined ? "" : ` ${definition.args}`} [options]`;
  return [synopsis, "", definition.summary, "", "options:", ...lines, ...(definition.notes === undefined ? [] : ["", definition.notes])].join("\n");
}

/** parseArgs's options for a command, aliases resolved to their flag afterwards. */
function parseOptions(spec: CommandDefinition): NonNullable<ParseArgsConfig["options"]> {
  return Object.fromEntries(Object.entries({ ...spec.flags, ...COMMON_FLAGS }).map(([name, flag]) => [name, { type: flag.type, ...(flag.short === undefined ? {} : { short: flag.short }) }]));
}

export function parseCommand(spec: CommandSpec, argv: string[]) {
  try {
    const parsed = parseArgs({ args: argv, options: parseOptions(spec), allowPositionals: true, strict: true });
    if (parsed.positionals.length > spec.maxPositionals) {
      throw new UsageError(`unexpected argument "${parsed.positionals[spec.maxPositionals]}"`, spec.usage);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    for (const [name, flag] of Object.entries(spec.flags)) {
      if (flag.aliasOf === undefined || values[name] === undefined) continue;
      if (values[flag.aliasOf] !== undefined) throw new UsageError(`give --${flag.aliasOf} or --${name}, not both`, spec.usage);
      values[flag.aliasOf] = values[name];
    }
    return { values, positionals: parsed.positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const message = (err as Error).message;
    // parseArgs's messages run over several lines; a usage error is one.
    const ambiguous = /^Option '(--[^']+)' argument is ambiguous/.exec(message);
    if (ambiguous !== null) throw new UsageError(`${ambiguous[1]} needs a value (one starting with a dash goes as ${ambiguous[1]}=-VALUE)`, spec.usage);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, "").replace(/\s*\n\s*/g, " "), spec.usage);
  }
}

export function requirePreset(value: string | undefined, usage: string, flag = "--preset"): string {
  if (value === undefined) throw new UsageError(`${flag} is required (one of ${PRESET_NAMES.join(", ")})`, usage);
  if (!isPresetName(value)) throw new UsageError(`${flag} "${value}" is not a preset (one of ${PRESET_NAMES.join(", ")})`, usage);
  return value;
}

/** A non-negative integer flag ("--seed 0"), or the default when absent. */
export function integerFlag(value: string | undefined, flag: string, usage: string, options: { min: number; max?: number; fallback?: number }): number | undefined {
  if (value === undefined) return options.fallback;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < options.min || Number(value) > max) {
    throw new UsageError(`${flag} must be an integer >= ${options.min}${options.max === undefined ? "" : ` and <= ${options.max}`}, got "${value}"`, usage);
  }
  return Number(value);
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(value: string | undefined, flag: string, choices: readonly T[], fallback: T, usage: string): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got "${value}"`, usage);
  return value as T;
}
