/**
 * `tabula fsck --data DIR`: checks a stopped server's data directory offline, reading every byte
 * that carries a checksum, and reports each damaged file precisely (path, offset, what).
 *
 * A data directory holds engine directories: `catalog/` and `tables/<table>/<tablet>/`
 * (tablet/table-store.ts). A tablet's manifest may name SSTables of a sibling store (a split or
 * merge parent: storage/file-refs.ts); fsck checks those exist.
 * In each one fsck
 *   - reads CURRENT and the manifest it names (ManifestStore.recover), replays the edits and
 *     checks every SSTable they name exists with the recorded size;
 *   - reads every record of every manifest and WAL (readLogRecords), decoding each (a version
 *     edit, a write batch); a torn tail — what a crash leaves, and recovery drops — is a note;
 *   - opens every SSTable and verifies every block's checksum and the key order (verifyChecksums).
 * It only reads. Exit code 0 when clean, 1 when anything is damaged, 3 when DIR does not exist.
 * A store held open by a live process is refused (its files change under the reader) unless
 * `--force`.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { errors, TabulaError } from '../common/errors.js';
import { parseFileName, sstFileName } from '../storage/file-names.js';
import { readLogRecords } from '../storage/log-reader.js';
import { ManifestStore } from '../storage/manifest-store.js';
import { RealVfs } from '../storage/real-vfs.js';
import { SstableReader } from '../storage/sstable-reader.js';
import { decodeVersionEdit, type FileMeta } from '../storage/version-edit.js';
import { dirName, joinPath } from '../storage/vfs.js';
import { decodeBatch } from '../storage/write-batch.js';
import { EXIT_ERROR } from './cli-output.js';

const LOCK_FILE_NAME = 'LOCK';

/** What fsck found in one engine directory. */
interface EngineReport {
  files: number;
  damage: string[];
  notes: string[];
}

function describe(err: unknown): string {
  if (err instanceof TabulaError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Records damage once per message (the live manifest is read by two checks). */
function addDamage(report: EngineReport, line: string): void {
  if (!report.damage.includes(line)) report.damage.push(line);
}

async function checkManifestFiles(vfs: RealVfs, dir: string, report: EngineReport): Promise<void> {
  let live: Map<number, FileMeta>;
  try {
    const { edits } = await ManifestStore.recover(vfs, dir);
    live = new Map();
    for (const edit of edits) {
      for (const d of edit.deletedFiles) live.delete(d.fileNumber);
      for (const a of edit.addedFiles) live.set(a.file.fileNumber, a.file);
    }
  } catch (err) {
    addDamage(report, describe(err));
    return;
  }
  for (const meta of live.values()) {
    const path = meta.source
      ? joinPath(dirName(dir), meta.source.dir, sstFileName(meta.source.fileNumber))
      : joinPath(dir, sstFileName(meta.fileNumber));
    const size = await vfs.fileSize(path).catch(() => undefined);
    if (size === undefined)
      addDamage(report, describe(errors.dataLoss('sstable named by the manifest is missing', { path })));
    else if (!meta.source && size !== meta.fileSize) {
      addDamage(
        report,
        describe(
          errors.dataLoss('sstable size differs from the manifest', { path, size, expected: meta.fileSize }),
        ),
      );
    }
  }
}

async function checkLog(
  vfs: RealVfs,
  path: string,
  kind: 'wal' | 'manifest',
  report: EngineReport,
): Promise<void> {
  try {
    const result = await readLogRecords(vfs, path, (record, offset) => {
      if (kind === 'manifest') decodeVersionEdit(record, { path, offset });
      else if (decodeBatch(record) === undefined)
        throw errors.dataLoss('log record is not a valid write batch', { path, offset });
    });
    if (result.tornTail)
      report.notes.push(
        `torn tail (a crash mid-write; recovery drops it): path=\`${path}\` offset=\`${result.validBytes}\``,
      );
  } catch (err) {
    addDamage(report, describe(err));
  }
}

async function checkSstable(
  vfs: RealVfs,
  path: string,
  fileNumber: number,
  report: EngineReport,
): Promise<void> {
  const file = await vfs.openReadable(path);
  try {
    SstableReader.open(file, fileNumber).verifyChecksums();
  } catch (err) {
    addDamage(report, describe(err));
  } finally {
    await file.close();
  }
}

/** Checks one engine directory. */
async function checkEngine(vfs: RealVfs, dir: string): Promise<EngineReport> {
  const report: EngineReport = { files: 0, damage: [], notes: [] };
  await checkManifestFiles(vfs, dir, report);
  for (const name of await vfs.list(dir)) {
    const parsed = parseFileName(name);
    if (!parsed) continue;
    report.files++;
    const path = joinPath(dir, name);
    if (parsed.kind === 'sst') await checkSstable(vfs, path, parsed.number, report);
    else await checkLog(vfs, path, parsed.kind, report);
  }
  return report;
}

async function liveLockHolder(vfs: RealVfs, dir: string): Promise<number | undefined> {
  const text = await vfs.readFile(joinPath(dir, LOCK_FILE_NAME)).catch(() => undefined);
  const pid = Number(text?.toString('utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** The engine directories of a data directory, catalog first. */
async function engineDirs(vfs: RealVfs, data: string): Promise<string[]> {
  const info = await stat(data).catch(() => undefined);
  if (!info?.isDirectory()) throw errors.notFound('data directory does not exist', { dir: data });
  const dirs = (await vfs.exists(joinPath(data, 'catalog'))) ? [joinPath(data, 'catalog')] : [];
  for (const table of await vfs.list(joinPath(data, 'tables'))) {
    for (const tablet of await vfs.list(joinPath(data, 'tables', table)))
      dirs.push(joinPath(data, 'tables', table, tablet));
  }
  if (dirs.length === 0)
    throw errors.notFound('no catalog/ or tables/ here: not a tabula data directory', { dir: data });
  return dirs;
}

async function runFsck(flags: { data: string; force?: boolean }): Promise<void> {
  const vfs = new RealVfs();
  const dirs = await engineDirs(vfs, flags.data);
  let files = 0;
  let damaged = 0;
  for (const dir of dirs) {
    const pid = await liveLockHolder(vfs, dir);
    if (pid !== undefined && flags.force !== true) {
      throw errors.failedPrecondition(
        'store is open by a live process; stop the server first or pass --force',
        { dir, pid },
      );
    }
    const report = await checkEngine(vfs, dir);
    files += report.files;
    damaged += report.damage.length;
    console.log(`${report.damage.length === 0 ? 'ok     ' : 'DAMAGED'} ${dir} (${report.files} files)`);
    for (const line of report.damage) console.log(`  damage: ${line}`);
    for (const line of report.notes) console.log(`  note: ${line}`);
  }
  console.log(`fsck: ${dirs.length} stores, ${files} files checked, ${damaged} damaged`);
  if (damaged > 0) {
    console.error(
      `tabula: DATA_LOSS: ${damaged} damaged ${damaged === 1 ? 'file or record' : 'files or records'} in ${flags.data}`,
    );
    process.exitCode = EXIT_ERROR;
  }
}

/** Registers `fsck` on `program`. */
export function registerFsckCommand(program: Command): void {
  program
    .command('fsck')
    .description("verify every checksum of a stopped server's data directory and report damage")
    .requiredOption('--data <dir>', 'data directory (as given to tabula serve --data)')
    .option('--force', 'check even while a live process holds the store open')
    .action(runFsck);
}
