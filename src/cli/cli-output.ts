/**
 * What every `tabula` command shares: exit codes, the one-line error format
 * (`tabula: <CODE>: <message>` on standard error), the connection flags of the commands that talk
 * to a server, and how bytes are shown to a person.
 *
 * Exit codes (documented in docs/cli.md; scripts depend on them, so never renumber):
 *   0 success; 1 a server or store error (including damage found by fsck); 2 a usage error
 *   (bad flags, arguments or input the server would refuse as INVALID_ARGUMENT); 3 not found.
 */
import { isUtf8 } from 'node:buffer';
import { type Command, InvalidArgumentError } from 'commander';
import { connect, type Tabula } from '../client/index.js';
import { ErrorCode, TabulaError } from '../common/errors.js';

/** Exit code of success. */
export const EXIT_OK = 0;
/** Exit code of a server, store or I/O error. */
export const EXIT_ERROR = 1;
/** Exit code of a usage error. */
export const EXIT_USAGE = 2;
/** Exit code when the named table, family, row or file does not exist. */
export const EXIT_NOT_FOUND = 3;

/** The server address used when neither `--endpoint` nor BIGTABLE_EMULATOR_HOST is given. */
export const ENDPOINT_DEFAULT = '127.0.0.1:8086';
/** Project and instance used when not given (a Tabula server accepts any). */
export const PROJECT_DEFAULT = 'tabula';
export const INSTANCE_DEFAULT = 'tabula';
/** How long a command waits for the server before failing with UNAVAILABLE. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** A mistake in how the command was invoked; exits 2 with code USAGE. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Throws a usage error. */
export function usage(message: string): never {
  throw new UsageError(message);
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT_USAGE;
  if (err instanceof TabulaError) {
    if (err.code === ErrorCode.NotFound) return EXIT_NOT_FOUND;
    if (err.code === ErrorCode.InvalidArgument) return EXIT_USAGE;
  }
  return EXIT_ERROR;
}

/** The one line printed for an error: `tabula: <CODE>: <message>` (never a stack trace). */
export function errorLine(err: unknown): string {
  if (err instanceof UsageError) return `tabula: USAGE: ${err.message}`;
  if (err instanceof TabulaError) return `tabula: ${err.code}: ${oneLine(err.message)}`;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOENT') return `tabula: NOT_FOUND: ${oneLine(String((err as Error).message))}`;
  const message = err instanceof Error ? err.message : String(err);
  return `tabula: ${errno ?? 'ERROR'}: ${oneLine(message)}`;
}

/** Exit code for Node errors with an errno (ENOENT is "not found"). */
export function exitCodeOfAny(err: unknown): number {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return EXIT_NOT_FOUND;
  return exitCodeOf(err);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** Connection flags shared by the commands that talk to a server. */
export interface ConnectionFlags {
  endpoint: string;
  project: string;
  instance: string;
}

/** Adds `--endpoint`, `--project` and `--instance` to a command. */
export function withConnectionFlags(command: Command): Command {
  return command
    .option(
      '--endpoint <host:port>',
      'server address; the default comes from $BIGTABLE_EMULATOR_HOST, else 127.0.0.1:8086',
      process.env.BIGTABLE_EMULATOR_HOST || ENDPOINT_DEFAULT,
    )
    .option('--project <id>', 'project of the instance', PROJECT_DEFAULT)
    .option('--instance <id>', 'instance id', INSTANCE_DEFAULT);
}

/** Connects with `flags`, runs `body`, and closes the connection whatever happens. */
export async function withServer<T>(flags: ConnectionFlags, body: (db: Tabula) => Promise<T>): Promise<T> {
  const db = await connect(flags.endpoint, {
    project: flags.project,
    instance: flags.instance,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

/** Parses a whole number ≥ `min` for a flag; commander reports the message as a usage error. */
export function integerFlag(min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^-?[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    }
    return n;
  };
}

/** Collects a repeatable flag's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Bytes for a person: a JSON string when they are printable UTF-8, else `0x` and hex. */
export function showBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return JSON.stringify(buf.toString('utf8'));
  return `0x${buf.toString('hex')}`;
}

/** A row key or qualifier for a person: as is when plain printable text, else like `showBytes`. */
export function showName(bytes: Uint8Array): string {
  const shown = showBytes(bytes);
  const inner = shown.startsWith('"') ? shown.slice(1, -1) : undefined;
  return inner !== undefined && /^[\x21-\x7e]+$/.test(inner) && !inner.includes('\\') ? inner : shown;
}

/** Splits `family:qualifier` at the first colon (a qualifier may hold colons). */
export function splitColumn(column: string, what: string): { family: string; qualifier: string } {
  const colon = column.indexOf(':');
  if (colon <= 0) usage(`${what} must be family:qualifier, got ${JSON.stringify(column)}`);
  return { family: column.slice(0, colon), qualifier: column.slice(colon + 1) };
}
