/**
 * Checkpoint files of resumable `import` and `export`: a small JSON object replaced atomically
 * (write `FILE.tmp`, fsync, rename), so after a crash the file holds either the previous or the
 * next checkpoint, never a torn one. A checkpoint is written only after the work it records is
 * acknowledged (import: the batch's MutateRows succeeded; export: the output was fsynced).
 */
import { open, readFile, rename } from 'node:fs/promises';
import { usage } from './cli-output.js';

/** Version of the checkpoint layout. PERSISTED: bump on any change. */
export const CHECKPOINT_VERSION = 1;

/** Where an import stands. */
export interface ImportCheckpoint {
  readonly version: number;
  readonly kind: 'import';
  /** Absolute path and size of the input: resuming against another file is refused. */
  readonly input: string;
  readonly inputBytes: number;
  /** Every record before this input offset is written. */
  readonly offset: number;
  /** Rows written so far, all runs. */
  readonly rows: number;
  /** Timestamp of cells that carry none: the same on every run, so a retried batch rewrites the same cells. */
  readonly timestampMicros: number;
  readonly done: boolean;
}

/** Where an export stands. */
export interface ExportCheckpoint {
  readonly version: number;
  readonly kind: 'export';
  readonly table: string;
  /** Absolute path of the output and its length covered by this checkpoint. */
  readonly output: string;
  readonly outputBytes: number;
  /** Base64 of the last row key written, or null before the first row. */
  readonly lastKey64: string | null;
  readonly rows: number;
  readonly done: boolean;
}

/** Reads a checkpoint of `kind`; undefined when the file does not exist. */
export async function readCheckpoint<T extends ImportCheckpoint | ExportCheckpoint>(
  path: string,
  kind: T['kind'],
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    usage(`checkpoint ${path} is not JSON`);
  }
  const o = parsed as Partial<T> | null;
  if (o?.version !== CHECKPOINT_VERSION || o.kind !== kind) {
    usage(`checkpoint ${path} is not an ${kind} checkpoint of version ${CHECKPOINT_VERSION}`);
  }
  return o as T;
}

/** Replaces the checkpoint at `path` atomically and durably. */
export async function writeCheckpoint(
  path: string,
  checkpoint: ImportCheckpoint | ExportCheckpoint,
): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(`${JSON.stringify(checkpoint)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}
