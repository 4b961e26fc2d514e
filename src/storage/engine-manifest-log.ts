/**
 * The engine's manifest log: every change to the set of live SSTables (a flush, a compaction, an
 * adoption) is a version edit, recorded durably in the manifest before the new version is
 * installed, so a crash leaves either the old version or the new one in force, never a mix.
 *
 * A manifest past MANIFEST_BYTES_MAX is replaced by a new one that starts with a snapshot of the
 * whole version (the switch of CURRENT to it is the commit point, see manifest-store.ts).
 *
 * Fencing: with an owner epoch, each edit first checks that no higher epoch has fenced the
 * directory (owner-fence.ts), right before the append or the new manifest; a stale owner's edit
 * fails with FAILED_PRECONDITION and the version stays as it was.
 *
 * Concurrency: edits are serialized by a promise chain, in call order (the chain outlives a failed
 * edit; the manifest store itself is fail-stop, so after a write error later edits reject too).
 */
import { PARANOID } from '../common/assert.js';
import { ErrorCode, hasCode } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { EngineState } from './engine-state.js';
import { ManifestStore } from './manifest-store.js';
import type { Version } from './version.js';
import type { VersionEdit } from './version-edit.js';

/** Owns the store's open manifest and serializes the edits written to it. */
export class ManifestLog {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: EngineState,
    private manifest: ManifestStore,
  ) {}

  /** The number of the manifest edits go to now (older manifests are obsolete). */
  get manifestNumber(): number {
    return this.manifest.manifestNumber;
  }

  /** Settles once every edit logged so far has settled. */
  get settled(): Promise<unknown> {
    return this.chain;
  }

  /** Records `edit` durably in the manifest, then installs the new version. Serialized. */
  logAndApply(edit: VersionEdit): Promise<void> {
    const state = this.state;
    const run = this.chain.then(async () => {
      edit.nextFileNumber = state.nextFileNumber;
      edit.lastSequence = state.visibleSequence;
      try {
        for (const { file } of edit.addedFiles) await state.tables.open(file);
      } catch (err) {
        // A new owner's sweep may have removed a fenced owner's job outputs: say stale, not lost.
        await state.fence?.check();
        throw err;
      }
      const next = state.version.apply(edit);
      if (PARANOID) next.checkInvariants();
      // A manifest whose append failed for lack of space is never appended to again (its tail may
      // be torn): once space returns, the edit goes into a fresh manifest holding the whole state.
      const full =
        this.manifest.failure !== undefined && hasCode(this.manifest.failure, ErrorCode.ResourceExhausted);
      // The commit point of every flush, compaction and adoption: a stale owner's edit never
      // becomes durable (docs/rfcs/0003-epoch-fencing.md).
      await state.fence?.check();
      if (full || this.manifest.size > limits.MANIFEST_BYTES_MAX) {
        const previous = this.manifest;
        this.manifest = await ManifestStore.create(
          state.opts.vfs,
          state.opts.dir,
          state.nextFileNumber++,
          {
            ...snapshotEdit(next),
            logNumber: edit.logNumber ?? state.logNumber,
            nextFileNumber: state.nextFileNumber,
            lastSequence: state.visibleSequence,
          },
          previous.pointer,
        );
        await previous.close().catch(() => undefined);
      } else {
        await this.manifest.append(edit);
      }
      if (state.version.refs > 0) state.pinned.add(state.version);
      state.version = next;
      state.tombstoneCache = undefined;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Closes the manifest; call once the chain has settled. */
  close(): Promise<void> {
    return this.manifest.close();
  }
}

/** An edit that recreates `version` from nothing. */
export function snapshotEdit(version: Version): VersionEdit {
  return {
    addedFiles: version.levels.flatMap((files, level) => files.map((file) => ({ level, file }))),
    deletedFiles: [],
  };
}
