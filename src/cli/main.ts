#!/usr/bin/env node
/**
 * The `tabula` command. `serve` opens the store under `--data` (recovering from any crash), reports
 * its status and runs until SIGINT/SIGTERM, then closes cleanly. `status` prints the status of a
 * store and exits. Exit codes: 0 success, 1 a store error, 2 a usage error.
 */
import { Command, InvalidArgumentError } from 'commander';
import { TabulaError } from '../common/errors.js';
import { Engine } from '../storage/engine.js';

const DATA_DIR_DEFAULT = './tabula-data';
const EXIT_STORE_ERROR = 1;

function statusLines(engine: Engine, dir: string): string[] {
  const s = engine.stats();
  const levels = s.levelFiles
    .map((files, level) => ({ level, files, bytes: s.levelBytes[level] ?? 0 }))
    .filter((l) => l.files > 0)
    .map((l) => `L${l.level}: ${l.files} files, ${l.bytes} bytes`);
  return [
    `store: ${dir}`,
    `last sequence: ${s.lastSequence}`,
    `memtable: ${s.memtableBytes} bytes`,
    levels.length > 0 ? `sstables: ${levels.join('; ')}` : 'sstables: none',
  ];
}

async function serve(options: { data: string }): Promise<void> {
  process.title = `tabula serve --data ${options.data}`;
  const engine = await Engine.open({ dir: options.data });
  for (const line of statusLines(engine, options.data)) console.log(line);
  console.log('storage engine open; press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await engine.close();
  console.log('closed cleanly');
}

async function status(options: { data: string }): Promise<void> {
  const engine = await Engine.open({ dir: options.data });
  try {
    for (const line of statusLines(engine, options.data)) console.log(line);
  } finally {
    await engine.close();
  }
}

function nonEmpty(value: string): string {
  if (value.length === 0) throw new InvalidArgumentError('must not be empty');
  return value;
}

const program = new Command('tabula')
  .description('Tabula: an open-source Bigtable')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
program
  .command('serve')
  .description('open the store and serve until interrupted')
  .option('--data <dir>', 'data directory', nonEmpty, DATA_DIR_DEFAULT)
  .action(serve);
program
  .command('status')
  .description('print the status of a store and exit')
  .option('--data <dir>', 'data directory', nonEmpty, DATA_DIR_DEFAULT)
  .action(status);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof TabulaError ? `${err.code}: ${err.message}` : String(err);
  console.error(`tabula: ${message}`);
  process.exit(EXIT_STORE_ERROR);
});
