/**
 * `tabula export TABLE FILE`: writes every row of a table (or of a key prefix), in key order, as
 * JSON Lines (row-json.ts) — every version of every cell with its timestamp, so importing the
 * file rebuilds the same cells.
 *
 * Resuming without duplicates. Output is written in chunks; after each chunk is fsynced, the
 * `--resume` checkpoint records the output length and the last row key written. A later run
 * with the same checkpoint cuts the output back to that length (dropping rows written after the
 * last checkpoint) and reads on from just after that key.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Filter, type ReadRowsOptions, type RowRange, type Table } from '../client/index.js';
import { type ConnectionFlags, integerFlag, usage, withConnectionFlags, withServer } from './cli-output.js';
import { rowToJson } from './row-json.js';
import {
  CHECKPOINT_VERSION,
  type ExportCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './transfer-checkpoint.js';
import { TransferProgress } from './transfer-progress.js';

/** Output bytes gathered before one write, fsync and checkpoint. */
const CHUNK_BYTES_TARGET = 1024 * 1024;

interface ExportFlags extends ConnectionFlags {
  prefix?: string;
  latest?: boolean;
  resume?: string;
  progress?: boolean;
  limit?: number;
}

/** The smallest key above every key with `prefix`, or empty (no bound) when there is none. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.alloc(0);
}

function readOptions(flags: ExportFlags, lastKey: Buffer | undefined): ReadRowsOptions {
  const prefix = flags.prefix === undefined ? undefined : Buffer.from(flags.prefix, 'utf8');
  const filter = flags.latest ? { filter: Filter.cellsPerColumnLimit(1) } : {};
  if (lastKey === undefined) return { ...(prefix ? { prefix } : {}), ...filter };
  const range: RowRange = {
    start: lastKey,
    startInclusive: false,
    ...(prefix ? { end: prefixEnd(prefix) } : {}),
  };
  return { ranges: [range], ...filter };
}

async function startingCheckpoint(
  table: string,
  path: string,
  flags: ExportFlags,
): Promise<ExportCheckpoint> {
  const output = resolve(path);
  const saved = flags.resume ? await readCheckpoint<ExportCheckpoint>(flags.resume, 'export') : undefined;
  if (saved && (saved.table !== table || saved.output !== output)) {
    usage(`checkpoint ${flags.resume} belongs to table ${saved.table} and ${saved.output}`);
  }
  return (
    saved ?? {
      version: CHECKPOINT_VERSION,
      kind: 'export',
      table,
      output,
      outputBytes: 0,
      lastKey64: null,
      rows: 0,
      done: false,
    }
  );
}

/** Approximate bytes of the table, from its row key samples (for the progress ETA). */
async function estimateBytes(table: Table): Promise<number | undefined> {
  const samples = await table.sampleRowKeys();
  const last = samples[samples.length - 1];
  return last && last.offsetBytes > 0 ? last.offsetBytes : undefined;
}

async function runExport(tableName: string, path: string, flags: ExportFlags): Promise<void> {
  let checkpoint = await startingCheckpoint(tableName, path, flags);
  if (checkpoint.done) {
    console.log(`export of ${tableName} already complete (${checkpoint.rows} rows); nothing to do`);
    return;
  }
  const resuming = checkpoint.lastKey64 !== null || checkpoint.outputBytes > 0;
  const file = await open(path, resuming ? 'r+' : 'w');
  let rowsThisRun = 0;
  let stoppedByLimit = false;
  try {
    await file.truncate(checkpoint.outputBytes);
    let position = checkpoint.outputBytes;
    await withServer(flags, async (db) => {
      const table = db.table(tableName);
      const progress = new TransferProgress({
        label: 'export',
        totalBytes: await estimateBytes(table),
        startBytes: position,
        ...(flags.progress === false ? { plain: true } : {}),
      });
      let lines: string[] = [];
      let chunkBytes = 0;
      let lastKey: Buffer | undefined =
        checkpoint.lastKey64 === null ? undefined : Buffer.from(checkpoint.lastKey64, 'base64');
      const flush = async (done: boolean) => {
        const bytes = Buffer.from(lines.join(''), 'utf8');
        await file.write(bytes, 0, bytes.length, position);
        await file.sync();
        position += bytes.length;
        checkpoint = {
          ...checkpoint,
          outputBytes: position,
          lastKey64: lastKey?.toString('base64') ?? null,
          rows: checkpoint.rows + lines.length,
          done,
        };
        if (flags.resume) await writeCheckpoint(flags.resume, checkpoint);
        rowsThisRun += lines.length;
        progress.update(rowsThisRun, position);
        lines = [];
        chunkBytes = 0;
      };
      for await (const row of table.readRows(readOptions(flags, lastKey))) {
        const line = `${rowToJson(row)}\n`;
        lines.push(line);
        chunkBytes += line.length;
        lastKey = row.key;
        if (flags.limit !== undefined && rowsThisRun + lines.length >= flags.limit) {
          stoppedByLimit = true;
          break;
        }
        if (chunkBytes >= CHUNK_BYTES_TARGET) await flush(false);
      }
      await flush(!stoppedByLimit);
      progress.stop();
    });
  } finally {
    await file.close();
  }
  const note = stoppedByLimit ? ' (stopped by --limit; rerun with the same --resume to continue)' : '';
  console.log(`exported ${rowsThisRun} rows from ${tableName} to ${path}${note}`);
}

/** Registers `export` on `program`. */
export function registerExportCommand(program: Command): void {
  withConnectionFlags(
    program
      .command('export')
      .description('write the rows of a table to a JSON Lines file, resumably')
      .argument('<table>', 'table name')
      .argument('<file>', 'output file (replaced, unless resuming)')
      .option('--prefix <key>', 'only rows whose key starts with this')
      .option('--latest', 'only the newest version of each column')
      .option('--resume <checkpoint>', 'checkpoint file: record progress there and continue from it')
      .option('--limit <n>', 'stop after writing N rows this run', integerFlag(1))
      .option('--no-progress', 'plain progress lines even on a terminal'),
  ).action((table: string, file: string, flags: ExportFlags) => runExport(table, file, flags));
}
