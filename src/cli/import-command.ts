/**
 * `tabula import TABLE FILE`: writes rows from CSV (a header row, then one row per record) or JSON
 * Lines (row-json.ts) in batches of MutateRows.
 *
 * Resuming without duplicates. Every cell is written with an explicit timestamp (the input's, or
 * one chosen when the import starts and kept in the checkpoint), so writing a row again rewrites
 * the same cells instead of adding versions: re-importing is idempotent. With `--resume CKPT`,
 * after each acknowledged batch the checkpoint records the input offset past its last record; a
 * later run with the same checkpoint starts there. Batches are applied in input order, one at a
 * time, so everything before the recorded offset is written.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { MutateRowsEntry, Table } from '../client/index.js';
import { TabulaError } from '../common/errors.js';
import {
  type ConnectionFlags,
  collect,
  integerFlag,
  splitColumn,
  usage,
  withConnectionFlags,
  withServer,
} from './cli-output.js';
import { type InputRecord, parseCsvRecord, readRecords } from './record-reader.js';
import { type CellInput, parseRowJson, setCellMutations } from './row-json.js';
import {
  CHECKPOINT_VERSION,
  type ImportCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './transfer-checkpoint.js';
import { TransferProgress } from './transfer-progress.js';

/** Rows per MutateRows request by default. */
const BATCH_ROWS_DEFAULT = 500;
/** Input bytes per MutateRows request at most (well under the request size limit). */
const BATCH_INPUT_BYTES_MAX = 4 * 1024 * 1024;

interface ImportFlags extends ConnectionFlags {
  format?: 'csv' | 'jsonl';
  rowKeyColumn?: string;
  family?: string;
  column?: string[];
  resume?: string;
  timestamp?: number;
  batchRows: number;
  limit?: number;
  progress?: boolean;
}

function formatFlag(value: string): 'csv' | 'jsonl' {
  if (value !== 'csv' && value !== 'jsonl') throw new InvalidArgumentError('must be csv or jsonl');
  return value;
}

/** Turns one input record into a row, or undefined for a blank line. */
type RowParser = (text: string, where: string) => { key: Buffer; cells: CellInput[] } | undefined;

function csvParser(header: string[], flags: ImportFlags): RowParser {
  const keyColumn = flags.rowKeyColumn ?? header[0];
  const keyIndex = header.indexOf(keyColumn ?? '');
  if (keyIndex < 0) usage(`--row-key-column ${JSON.stringify(keyColumn)} is not in the header`);
  const mapping = new Map<string, { family: string; qualifier: string }>();
  for (const spec of flags.column ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) usage(`--column must be NAME=family:qualifier, got ${JSON.stringify(spec)}`);
    const name = spec.slice(0, eq);
    if (!header.includes(name)) usage(`--column ${JSON.stringify(name)} is not in the header`);
    mapping.set(name, splitColumn(spec.slice(eq + 1), '--column target'));
  }
  const targets = header.map((name, i) => {
    if (i === keyIndex) return undefined;
    const mapped = mapping.get(name);
    if (mapped) return mapped;
    if (flags.family === undefined)
      usage(`column ${JSON.stringify(name)} has no --column mapping and no --family is given`);
    return { family: flags.family, qualifier: name };
  });
  return (text, where) => {
    if (text.length === 0) return undefined;
    const fields = parseCsvRecord(text);
    if (fields.length !== header.length)
      usage(`${where}: ${fields.length} fields, the header has ${header.length}`);
    const cells: CellInput[] = [];
    fields.forEach((value, i) => {
      const target = targets[i];
      if (target && value.length > 0)
        cells.push({ ...target, value: Buffer.from(value, 'utf8'), timestampMicros: undefined });
    });
    return { key: Buffer.from(fields[keyIndex] as string, 'utf8'), cells };
  };
}

/** The row parser and the offset of the first data record. */
async function openInput(
  path: string,
  flags: ImportFlags,
): Promise<{ parse: RowParser; dataOffset: number; csv: boolean }> {
  const csv = (flags.format ?? (path.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl')) === 'csv';
  if (!csv) {
    if (flags.rowKeyColumn || flags.family || flags.column)
      usage('--row-key-column, --family and --column apply to CSV only');
    return {
      parse: (text, where) => (text.trim().length === 0 ? undefined : parseRowJson(text, where)),
      dataOffset: 0,
      csv,
    };
  }
  for await (const record of readRecords(path, 0, true)) {
    return { parse: csvParser(parseCsvRecord(record.text), flags), dataOffset: record.endOffset, csv };
  }
  return usage(`${path} is empty: a CSV file needs a header row`);
}

async function startingCheckpoint(
  path: string,
  flags: ImportFlags,
  dataOffset: number,
): Promise<ImportCheckpoint> {
  const input = resolve(path);
  const inputBytes = (await stat(path)).size;
  const saved = flags.resume ? await readCheckpoint<ImportCheckpoint>(flags.resume, 'import') : undefined;
  if (saved) {
    if (saved.input !== input || saved.inputBytes !== inputBytes) {
      usage(
        `checkpoint ${flags.resume} belongs to ${saved.input} (${saved.inputBytes} bytes), not this input`,
      );
    }
    return saved;
  }
  const timestampMicros = flags.timestamp ?? Date.now() * 1000;
  if (timestampMicros % 1000 !== 0) usage('--timestamp must be a multiple of 1000 microseconds');
  return {
    version: CHECKPOINT_VERSION,
    kind: 'import',
    input,
    inputBytes,
    offset: dataOffset,
    rows: 0,
    timestampMicros,
    done: false,
  };
}

/** Writes one batch; the first refused row fails the import, naming where it is in the input. */
async function writeBatch(
  table: Table,
  entries: MutateRowsEntry[],
  starts: number[],
  path: string,
): Promise<void> {
  const results = await table.mutateRows(entries);
  const failed = results.find((r) => r.error !== undefined);
  if (failed?.error) {
    throw new TabulaError(
      failed.error.code,
      `${path} at byte ${starts[failed.index]}: ${failed.error.message}`,
    );
  }
}

async function runImport(tableName: string, path: string, flags: ImportFlags): Promise<void> {
  const { parse, dataOffset, csv } = await openInput(path, flags);
  let checkpoint = await startingCheckpoint(path, flags, dataOffset);
  if (checkpoint.done) {
    console.log(`import of ${path} already complete (${checkpoint.rows} rows); nothing to do`);
    return;
  }
  const progress = new TransferProgress({
    label: 'import',
    totalBytes: checkpoint.inputBytes,
    startBytes: checkpoint.offset,
    ...(flags.progress === false ? { plain: true } : {}),
  });
  let rowsThisRun = 0;
  let stoppedByLimit = false;
  await withServer(flags, async (db) => {
    const table = db.table(tableName);
    let entries: MutateRowsEntry[] = [];
    let starts: number[] = [];
    let batchBytes = 0;
    let start = checkpoint.offset;
    const flush = async (endOffset: number, done: boolean) => {
      if (entries.length > 0) await writeBatch(table, entries, starts, path);
      rowsThisRun += entries.length;
      checkpoint = { ...checkpoint, offset: endOffset, rows: checkpoint.rows + entries.length, done };
      if (flags.resume) await writeCheckpoint(flags.resume, checkpoint);
      progress.update(rowsThisRun, endOffset);
      entries = [];
      starts = [];
      batchBytes = 0;
    };
    let last: InputRecord | undefined;
    for await (const record of readRecords(path, checkpoint.offset, csv)) {
      last = record;
      const row = parse(record.text, `${path} at byte ${start}`);
      if (row && row.cells.length > 0) {
        entries.push({ key: row.key, mutations: setCellMutations(row.cells, checkpoint.timestampMicros) });
        starts.push(start);
        batchBytes += record.endOffset - start;
      }
      start = record.endOffset;
      const limitReached = flags.limit !== undefined && rowsThisRun + entries.length >= flags.limit;
      if (entries.length >= flags.batchRows || batchBytes >= BATCH_INPUT_BYTES_MAX || limitReached)
        await flush(record.endOffset, false);
      if (limitReached) {
        stoppedByLimit = true;
        break;
      }
    }
    if (!stoppedByLimit) await flush(last?.endOffset ?? checkpoint.offset, true);
  });
  progress.stop();
  const note = stoppedByLimit ? ` (stopped by --limit; rerun with the same --resume to continue)` : '';
  console.log(`imported ${rowsThisRun} rows into ${tableName}${note}`);
}

/** Registers `import` on `program`. */
export function registerImportCommand(program: Command): void {
  withConnectionFlags(
    program
      .command('import')
      .description('write rows from a CSV or JSON Lines file, resumably')
      .argument('<table>', 'table name')
      .argument('<file>', 'input file (.csv is CSV, anything else JSON Lines unless --format)')
      .option('--format <format>', 'csv or jsonl', formatFlag)
      .option('--row-key-column <name>', 'CSV column holding the row key (default: the first)')
      .option(
        '--family <family>',
        'CSV: family of columns without a --column mapping (qualifier: the header name)',
      )
      .option('--column <name=family:qualifier>', 'CSV: where a column goes (repeatable)', collect)
      .option('--resume <checkpoint>', 'checkpoint file: record progress there and continue from it')
      .option(
        '--timestamp <micros>',
        'timestamp of cells that carry none (default: the start time)',
        integerFlag(0),
      )
      .option('--batch-rows <n>', 'rows per request', integerFlag(1), BATCH_ROWS_DEFAULT)
      .option('--limit <n>', 'stop after writing N rows this run', integerFlag(1))
      .option('--no-progress', 'plain progress lines even on a terminal'),
  ).action((table: string, file: string, flags: ImportFlags) => runImport(table, file, flags));
}
