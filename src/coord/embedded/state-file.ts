/**
 * Reading and atomically replacing the embedded coordination state file in a directory.
 *
 * Replacement protocol (docs/format/coordination.md):
 *   1. `writeTempStateFile`: write `state.tmp`, sync it, close it;
 *   2. `installTempStateFile`: rename `state.tmp` → `state`, sync the directory.
 * A crash before step 2's directory sync leaves the old `state` in force (a leftover `state.tmp` is
 * ignored and overwritten); after it, the new one. A failure in step 1 leaves the durable state
 * unchanged, so the caller may go on; a failure in step 2 leaves it unknown, so the caller must
 * stop (fail-stop) until it is reopened and recovery reads whichever file won.
 *
 * Concurrency: the caller runs at most one replacement at a time per directory.
 */
import { ErrorCode, hasCode } from '../../common/errors.js';
import { joinPath, type Vfs } from '../../storage/vfs.js';
import { COORD_STATE_FILE_NAME, COORD_STATE_TEMP_FILE_NAME } from './coordination-format.js';
import { type CoordinationState, decodeCoordinationState } from './coordination-state.js';

/** Path of the state file in `dir`. */
export function stateFilePath(dir: string): string {
  return joinPath(dir, COORD_STATE_FILE_NAME);
}

/**
 * The state stored in `dir`, or `undefined` when there is no state file (a new store). DATA_LOSS
 * when the file is damaged.
 */
export async function readStateFile(vfs: Vfs, dir: string): Promise<CoordinationState | undefined> {
  const path = stateFilePath(dir);
  let bytes: Buffer;
  try {
    bytes = await vfs.readFile(path);
  } catch (err) {
    if (hasCode(err, ErrorCode.NotFound)) return undefined;
    throw err;
  }
  return decodeCoordinationState(bytes, path);
}

/** Step 1: writes and syncs `state.tmp`. On failure the durable state is unchanged. */
export async function writeTempStateFile(vfs: Vfs, dir: string, bytes: Uint8Array): Promise<void> {
  const file = await vfs.createWritable(joinPath(dir, COORD_STATE_TEMP_FILE_NAME));
  try {
    await file.append(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Step 2: renames `state.tmp` over `state` and syncs the directory. Resolves once durable. */
export async function installTempStateFile(vfs: Vfs, dir: string): Promise<void> {
  await vfs.rename(joinPath(dir, COORD_STATE_TEMP_FILE_NAME), stateFilePath(dir));
  await vfs.syncDir(dir);
}
