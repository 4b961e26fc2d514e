/**
 * Structured logging: one JSON object per line (pino), so every value a log line carries is a
 * field that a log processor reads back exactly, never text spliced into the message.
 *
 * The rule, after sshd's `Failed password for root from …` (where a user name holding
 * ` from 8.8.8.8` forged the address a parser extracted): a log call's message is a constant
 * sentence, and table names, row keys, addresses and error texts go in the fields object.
 * `logBytes` turns a byte string (a row key) into a field that round-trips.
 *
 * Ownership: a logger is created once per process (`tabula serve`) and passed down; components
 * make children with `logger.child({ component })`. Lines are written synchronously (see
 * `createLogger`).
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { LOG_BYTES_MAX } from './limits.js';

export type { Logger } from 'pino';
export { LOG_BYTES_MAX };

/** Log levels from most to least severe; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level `tabula serve` logs at unless told otherwise. */
export const LOG_LEVEL_DEFAULT: LogLevel = 'info';

const STDOUT_FD = 1;

/** Whether `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where lines go; default: standard output. */
  readonly destination?: DestinationStream;
  /** Fields on every line (e.g. `{ service: 'tabula' }`). */
  readonly base?: Record<string, unknown>;
}

/** A JSON-lines logger; error objects under `err` are serialized with their type, message and stack. */
export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level,
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  };
  // Synchronous writes: a line is in the kernel before the call returns, so none is lost to a
  // crash or to `process.exit` right after it (pino's default stdout stream is asynchronous).
  return pino(config, options.destination ?? pino.destination({ dest: STDOUT_FD, sync: true }));
}

/** A logger that drops everything, for components whose owner passed none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * A byte string as log fields that round-trip: `{ [name]: text }` when the bytes are valid UTF-8
 * (the text re-encodes to the same bytes), else `{ [name + 'Base64']: base64 }`. Cut to
 * LOG_BYTES_MAX bytes with `{ [name + 'Truncated']: true }` beyond that.
 */
export function logBytes(name: string, bytes: Uint8Array): Record<string, string | boolean> {
  const cut = bytes.length > LOG_BYTES_MAX;
  const kept = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, LOG_BYTES_MAX));
  const text = kept.toString('utf8');
  const fields: Record<string, string | boolean> = Buffer.from(text, 'utf8').equals(kept)
    ? { [name]: text }
    : { [`${name}Base64`]: kept.toString('base64') };
  if (cut) fields[`${name}Truncated`] = true;
  return fields;
}

/**
 * At most `linesPerSecondMax` lines per second for one kind of line (e.g. failed calls), so a
 * flood of bad requests cannot flood the log; the lines held back are counted and reported by
 * the first `take` of the next second.
 */
export class LineBudget {
  private second = Number.NaN;
  private lines = 0;
  private suppressed = 0;

  constructor(private readonly linesPerSecondMax: number) {}

  /** Whether a line may be written at `nowMs`, and how many were held back in the previous second. */
  take(nowMs: number): { allowed: boolean; suppressedBefore: number } {
    const second = Math.floor(nowMs / 1000);
    let suppressedBefore = 0;
    if (second !== this.second) {
      suppressedBefore = this.suppressed;
      this.second = second;
      this.lines = 0;
      this.suppressed = 0;
    }
    const allowed = ++this.lines <= this.linesPerSecondMax;
    if (!allowed) this.suppressed++;
    return { allowed, suppressedBefore };
  }
}
