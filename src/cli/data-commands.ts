/**
 * The data commands: `set`, `lookup`, `read`, `count` and `delete`. Rows print in cbt's layout
 * (the key, then per cell `family:qualifier @ time` and the value indented), or as JSON Lines with
 * `--format json` (the export format, row-json.ts). Reads stream: a row is printed as it arrives,
 * never buffering a whole scan.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { Filter, type Mutation, type ReadRowsOptions, type Row } from '../client/index.js';
import { errors } from '../common/errors.js';
import {
  type ConnectionFlags,
  integerFlag,
  showBytes,
  showName,
  splitColumn,
  usage,
  withConnectionFlags,
  withServer,
} from './cli-output.js';
import { rowToJson } from './row-json.js';

interface FilterFlags extends ConnectionFlags {
  family?: string;
  column?: string;
  value?: string;
  cellsPerColumn?: number;
  format: 'text' | 'json';
}

const SEPARATOR = '-'.repeat(40);

function formatFlag(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError('must be text or json');
  return value;
}

function withFilterFlags(command: Command): Command {
  return withConnectionFlags(
    command
      .option('--family <regex>', 'only families matching this RE2 regex (whole name)')
      .option('--column <family:qualifier>', 'only this column (the qualifier is an RE2 regex)')
      .option('--value <regex>', 'only cells whose value matches this RE2 regex (whole value)')
      .option('--cells-per-column <n>', 'only the newest N versions of each column', integerFlag(1))
      .option('--format <format>', 'text or json (JSON Lines, the export format)', formatFlag, 'text'),
  );
}

/** The filter the flags ask for, or undefined for every cell. */
export function filterOf(flags: FilterFlags): Filter | undefined {
  const parts: Filter[] = [];
  if (flags.family !== undefined) parts.push(Filter.familyRegex(flags.family));
  if (flags.column !== undefined) {
    const { family, qualifier } = splitColumn(flags.column, '--column');
    parts.push(Filter.family(family), Filter.qualifierRegex(qualifier));
  }
  if (flags.value !== undefined) parts.push(Filter.valueRegex(flags.value));
  if (flags.cellsPerColumn !== undefined) parts.push(Filter.cellsPerColumnLimit(flags.cellsPerColumn));
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : Filter.chain(...parts);
}

/** Prints a row in the chosen format. */
export function printRow(row: Row, format: 'text' | 'json'): void {
  if (format === 'json') {
    console.log(rowToJson(row));
    return;
  }
  const lines = [SEPARATOR, showName(row.key)];
  for (const cell of row.cells) {
    const time = new Date(Math.floor(cell.timestampMicros / 1000)).toISOString();
    lines.push(`  ${cell.family}:${showName(cell.qualifier)} @ ${time}`, `    ${showBytes(cell.value)}`);
  }
  console.log(lines.join('\n'));
}

/** `family:qualifier=value` (value may hold `=`; split at the first `=` after the column). */
function parseSetCell(spec: string, timestampMicros: number | undefined): Mutation {
  const eq = spec.indexOf('=');
  if (eq < 0) usage(`expected family:qualifier=value, got ${JSON.stringify(spec)}`);
  const { family, qualifier } = splitColumn(spec.slice(0, eq), 'cell');
  const setCell = { family, qualifier, value: spec.slice(eq + 1) };
  return { setCell: timestampMicros === undefined ? setCell : { ...setCell, timestampMicros } };
}

/** `start=`, `end=`, `prefix=` and `count=` arguments of `read`, after cbt. */
function readOptionsOf(args: readonly string[], filter: Filter | undefined): ReadRowsOptions {
  const given = new Map<string, string>();
  for (const arg of args) {
    const match = /^(start|end|prefix|count)=(.*)$/s.exec(arg);
    if (!match) usage(`read takes start=, end=, prefix= and count=, got ${JSON.stringify(arg)}`);
    given.set(match[1] as string, match[2] as string);
  }
  const count = given.get('count');
  if (count !== undefined && !/^[1-9][0-9]*$/.test(count)) usage('count= must be a whole number ≥ 1');
  const prefix = given.get('prefix');
  if (prefix !== undefined && (given.has('start') || given.has('end')))
    usage('prefix= cannot be combined with start= or end=');
  const start = given.get('start');
  const end = given.get('end');
  return {
    ...(prefix !== undefined ? { prefix } : {}),
    ...(start !== undefined || end !== undefined ? { ranges: [{ start: start ?? '', end: end ?? '' }] } : {}),
    ...(count !== undefined ? { limit: Number(count) } : {}),
    ...(filter ? { filter } : {}),
  };
}

function registerSetAndLookup(program: Command): void {
  withConnectionFlags(
    program
      .command('set')
      .description('write cells to one row (atomically)')
      .argument('<table>', 'table name')
      .argument('<row>', 'row key')
      .argument('<cells...>', 'family:qualifier=value, one or more')
      .option(
        '--timestamp <micros>',
        'cell timestamp in microseconds (a multiple of 1000; default: server time)',
        integerFlag(0),
      ),
  ).action((table: string, row: string, cells: string[], flags: ConnectionFlags & { timestamp?: number }) => {
    const mutations = cells.map((c) => parseSetCell(c, flags.timestamp));
    return withServer(flags, (db) => db.table(table).mutateRow(row, mutations));
  });
  withFilterFlags(
    program
      .command('lookup')
      .description('print one row')
      .argument('<table>', 'table name')
      .argument('<row>', 'row key'),
  ).action((table: string, key: string, flags: FilterFlags) =>
    withServer(flags, async (db) => {
      const filter = filterOf(flags);
      const row = await db.table(table).readRow(key, filter ? { filter } : {});
      if (!row) throw errors.notFound('row not found', { table, row: key });
      printRow(row, flags.format);
    }),
  );
}

function registerReadAndCount(program: Command): void {
  withFilterFlags(
    program
      .command('read')
      .description('print rows in key order')
      .argument('<table>', 'table name')
      .argument('[selection...]', 'start=KEY (inclusive), end=KEY (exclusive), prefix=KEY, count=N'),
  ).action((table: string, selection: string[], flags: FilterFlags) =>
    withServer(flags, async (db) => {
      for await (const row of db.table(table).readRows(readOptionsOf(selection, filterOf(flags)))) {
        printRow(row, flags.format);
      }
    }),
  );
  withConnectionFlags(
    program
      .command('count')
      .description('print the number of rows')
      .argument('<table>', 'table name')
      .argument('[selection...]', 'start=KEY, end=KEY, prefix=KEY'),
  ).action((table: string, selection: string[], flags: ConnectionFlags) =>
    withServer(flags, async (db) => {
      // One stripped cell per row is all a count needs from the server.
      const filter = Filter.chain(Filter.cellsPerRowLimit(1), Filter.stripValue());
      let rows = 0;
      for await (const _row of db.table(table).readRows(readOptionsOf(selection, filter))) rows++;
      console.log(rows);
    }),
  );
}

function registerDelete(program: Command): void {
  withConnectionFlags(
    program
      .command('delete')
      .description('delete a row, a family of a row, or a column of a row')
      .argument('<table>', 'table name')
      .argument('<row>', 'row key')
      .argument('[column]', 'family or family:qualifier; omitted: the whole row'),
  ).action((table: string, row: string, column: string | undefined, flags: ConnectionFlags) => {
    let mutation: Mutation;
    if (column === undefined) mutation = { deleteFromRow: true };
    else if (!column.includes(':')) mutation = { deleteFromFamily: { family: column } };
    else mutation = { deleteFromColumn: splitColumn(column, 'column') };
    return withServer(flags, (db) => db.table(table).mutateRow(row, [mutation]));
  });
}

/** Registers `set`, `lookup`, `read`, `count` and `delete` on `program`. */
export function registerDataCommands(program: Command): void {
  registerSetAndLookup(program);
  registerReadAndCount(program);
  registerDelete(program);
}
