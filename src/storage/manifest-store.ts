/**
 * The manifest: a log (log-format.ts) of version edits (version-edit.ts) that records the store's
 * file set, and the CURRENT file that names the live manifest (docs/format/manifest.md).
 *
 * Creating a manifest is crash-safe at every step:
 *   1. write MANIFEST-n with the snapshot edit; sync it and the directory;
 *   2. write CURRENT.tmp ("MANIFEST-n\n"), sync it (beside step 1: nothing names it yet);
 *   3. once both are done, rename CURRENT.tmp → CURRENT, sync the directory.
 * Until the rename is durable, the old CURRENT (and the manifest it names) stays valid; after it,
 * the caller may delete the old manifest.
 *
 * An owner with an epoch (owner-fence.ts) writes its own pointer, `CURRENT-<epoch>`, in place of
 * CURRENT, and the live pointer is the one of the highest epoch (`livePointerName`): a fenced
 * owner's late rename can only replace its own, lower pointer, which nobody reads any more once
 * the new owner has committed its first manifest (docs/rfcs/0003-epoch-fencing.md). Recovery never reopens a manifest for appending: the
 * caller writes a fresh one (a new snapshot) after recovering, so a torn tail is never appended to.
 *
 * Concurrency: `append()` calls are serialized internally, in call order. Fail-stop: after a write
 * or sync error every later `append()` rejects with that error (`failure`).
 * Invariant: every edit whose `append()` resolved is durable.
 */
import { ErrorCode, errors, fromFsError, hasCode, type TabulaError } from '../common/errors.js';
import {
  CURRENT_FILE_NAME,
  CURRENT_TEMP_FILE_NAME,
  livePointerName,
  manifestFileName,
  parseFileName,
} from './file-names.js';
import { readLogRecords } from './log-reader.js';
import { LogWriter } from './log-writer.js';
import { decodeVersionEdit, encodeVersionEdit, type VersionEdit } from './version-edit.js';
import { joinPath, type Vfs } from './vfs.js';

/** Text terminating the manifest name in CURRENT. */
const CURRENT_TERMINATOR = '\n';

/** A manifest written and synced, with its pointer's temp file, not yet live (`ManifestStore.prepare`). */
export interface PreparedManifest {
  /** Renames the pointer into place and syncs the directory: the manifest is live. */
  commit(): Promise<ManifestStore>;
  /** Closes the manifest without making it live. */
  abandon(): Promise<void>;
}

/** What recovery found. */
export interface RecoveredManifest {
  /** Every edit of the live manifest, the snapshot first. */
  edits: VersionEdit[];
  manifestNumber: number;
}

/** The live manifest of a store directory, open for appending edits. */
export class ManifestStore {
  private tail: Promise<void> = Promise.resolve();
  private failureError: TabulaError | undefined;

  private constructor(
    private readonly log: LogWriter,
    readonly path: string,
    /** Number of this manifest file. */
    readonly manifestNumber: number,
    /** The pointer file naming it (CURRENT or `CURRENT-<epoch>`): where its successor goes too. */
    readonly pointer: string,
  ) {}

  /**
   * Writes manifest `manifestNumber` holding `snapshot` and makes it the live one through the
   * pointer file `pointer` (CURRENT, or an owner's `CURRENT-<epoch>`; see the file comment for the
   * crash-safe order). Returns the store, open for `append()`.
   */
  static async create(
    vfs: Vfs,
    dir: string,
    manifestNumber: number,
    snapshot: VersionEdit,
    pointer: string = CURRENT_FILE_NAME,
  ): Promise<ManifestStore> {
    const prepared = await ManifestStore.prepare(vfs, dir, manifestNumber, snapshot, pointer);
    return prepared.commit();
  }

  /**
   * Steps 1 and 2 of the file comment, side by side: the new manifest and its pointer's temp file,
   * both durable, nothing live yet. `commit()` is step 3 (the caller checks what must hold right
   * before it, e.g. its fence); `abandon()` closes the manifest instead.
   */
  static async prepare(
    vfs: Vfs,
    dir: string,
    manifestNumber: number,
    snapshot: VersionEdit,
    pointer: string = CURRENT_FILE_NAME,
  ): Promise<PreparedManifest> {
    const name = manifestFileName(manifestNumber);
    const path = joinPath(dir, name);
    // Each pointer has its own temp file, so a fenced owner's late write never touches the new one's.
    const tempPath = joinPath(dir, pointer === CURRENT_FILE_NAME ? CURRENT_TEMP_FILE_NAME : `${pointer}.tmp`);
    const opened = vfs.createWritable(path).then((file) => new LogWriter(file));
    const writeManifest = async () => {
      const log = await opened;
      await log.addRecord(encodeVersionEdit(snapshot));
      await Promise.all([log.sync(), vfs.syncDir(dir)]);
    };
    const abandon = () => opened.then((log) => log.close()).catch(() => {});
    try {
      const written = await Promise.allSettled([writeManifest(), stagePointer(vfs, tempPath, name)]);
      for (const w of written) if (w.status === 'rejected') throw w.reason;
    } catch (err) {
      await abandon();
      throw err;
    }
    const log = await opened;
    return {
      commit: async () => {
        try {
          await vfs.rename(tempPath, joinPath(dir, pointer));
          await vfs.syncDir(dir);
        } catch (err) {
          await abandon();
          throw err;
        }
        return new ManifestStore(log, path, manifestNumber, pointer);
      },
      abandon,
    };
  }

  /**
   * Reads the live pointer (CURRENT, or the `CURRENT-<epoch>` of the highest epoch) and every edit
   * of the manifest it names. A torn tail of the manifest is tolerated (the edit it held was never
   * acknowledged). `listed`: the directory's names, when the caller has just listed it.
   * NOT_FOUND when there is no pointer; DATA_LOSS when the pointer is malformed,
   * names a missing manifest, or the manifest is corrupt.
   */
  static async recover(vfs: Vfs, dir: string, listed?: readonly string[]): Promise<RecoveredManifest> {
    const pointer = livePointerName(listed ?? (await vfs.list(dir)));
    if (pointer === undefined) throw errors.notFound('store has no current file', { dir });
    const currentPath = joinPath(dir, pointer);
    const text = (await vfs.readFile(currentPath)).toString('latin1');
    const name = text.endsWith(CURRENT_TERMINATOR) ? text.slice(0, -CURRENT_TERMINATOR.length) : '';
    const parsed = parseFileName(name);
    if (parsed?.kind !== 'manifest') {
      throw errors.dataLoss('current file is malformed', { path: currentPath });
    }
    const path = joinPath(dir, name);
    const edits: VersionEdit[] = [];
    try {
      await readLogRecords(vfs, path, (record, offset) => {
        edits.push(decodeVersionEdit(record, { path, offset }));
      });
    } catch (err) {
      if (hasCode(err, ErrorCode.NotFound))
        throw errors.dataLoss('current names a missing manifest', { path, current: currentPath });
      throw err;
    }
    if (edits.length === 0) throw errors.dataLoss('manifest has no snapshot record', { path });
    return { edits, manifestNumber: parsed.number };
  }

  /** Bytes in the manifest file; the caller writes a new snapshot once it passes MANIFEST_BYTES_MAX. */
  get size(): number {
    return this.log.size;
  }

  /** The error that failed this store, if any. */
  get failure(): TabulaError | undefined {
    return this.failureError;
  }

  /** Appends `edit` as one record; resolves once it is durable. */
  append(edit: VersionEdit): Promise<void> {
    const record = encodeVersionEdit(edit);
    const run = this.tail.then(async () => {
      if (this.failureError) throw this.failureError;
      try {
        await this.log.addRecord(record);
        await this.log.sync();
      } catch (err) {
        this.failureError = fromFsError(err, 'manifest', this.path);
        throw this.failureError;
      }
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    await this.tail;
    await this.log.close();
  }
}

/** Points `pointer` at manifest `name`: write a temp file, sync, rename, sync the directory. */
/** Writes and syncs the temp file of a pointer naming manifest `name` (step 2). */
async function stagePointer(vfs: Vfs, tempPath: string, name: string): Promise<void> {
  const file = await vfs.createWritable(tempPath);
  try {
    await file.append(Buffer.from(name + CURRENT_TERMINATOR, 'latin1'));
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
  // Closing makes nothing more durable: not waited for.
  void file.close().catch(() => undefined);
}
