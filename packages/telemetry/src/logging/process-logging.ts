/**
 * How every sigmaserve process shows its logs: human-readable (pino-pretty)
 * when the stream is a terminal, JSON lines otherwise (a pipe, a file, a log
 * shipper), at a level given by `--log-level` or SIGMASERVE_LOG_LEVEL. The
 * router and worker processes take `--log-level` off their argv before their
 * config parses (`takeLogLevel`); `sigmaserve up` also echoes its children's
 * JSON lines through `echoLogLine`, with the same rules.
 */
import { isatty } from "node:tty";
import { pino, type Logger } from "pino";
import PinoPretty from "pino-pretty";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_LEVEL_ENV = "SIGMASERVE_LOG_LEVEL";

export const isLogLevel = (value: string): value is LogLevel => (LOG_LEVELS as readonly string[]).includes(value);

/** pino's number for a level ("info" → 30); silent is above every level. */
export const levelNumber = (level: LogLevel): number => (level === "silent" ? Infinity : pino.levels.values[level]!);

/** A logger writing to file descriptor `fd` (stderr by default): pretty on a terminal, JSON otherwise. */
export function processLogger(name: string, level: LogLevel, options: { mixin?: () => object; fd?: number } = {}): Logger {
  const fd = options.fd ?? 2;
  const base = { name, level, ...(options.mixin === undefined ? {} : { mixin: options.mixin }) };
  if (isatty(fd)) return pino(base, PinoPretty({ destination: fd, sync: true, colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }));
  return pino(base, pino.destination({ fd, sync: true }));
}

/**
 * A formatter for another process's JSON log lines: undefined for a line below `level`, else the line
 * (pretty when `pretty`). A line that is not JSON (a crash's message) is passed on as it is.
 */
export function echoLogLine(level: LogLevel, pretty: boolean): (line: string) => string | undefined {
  const threshold = levelNumber(level);
  const format = pretty ? PinoPretty.prettyFactory({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }) : undefined;
  return (line) => {
    let entry: { level?: unknown };
    try {
      entry = JSON.parse(line) as { level?: unknown };
    } catch {
      return `${line}\n`;
    }
    if (typeof entry.level === "number" && entry.level < threshold) return undefined;
    return format === undefined ? `${line}\n` : format(entry);
  };
}

/** argv without `--log-level L` / `--log-level=L`, and L (undefined when not given). */
export function takeLogLevel(argv: readonly string[]): { argv: string[]; level: string | undefined } {
  const rest: string[] = [];
  let level: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === "--log-level") level = argv[++i] ?? "";
    else if (arg.startsWith("--log-level=")) level = arg.slice("--log-level=".length);
    else rest.push(arg);
  }
  return { argv: rest, level };
}
