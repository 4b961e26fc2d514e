/**
 * Owner-epoch fencing of a store directory (docs/rfcs/0003-epoch-fencing.md): the directory's
 * current owner is the highest epoch that has fenced it, and every commit point of an engine opened
 * with an epoch first checks that no higher epoch has fenced it since.
 *
 * A fence is the file `FENCE-<epoch>`, created exclusively with `link()` (NFS honours it; O_EXCL
 * is not honoured by NFSv2 and a rename would replace). Fencing, step by step (each crash leaves a
 * directory the next opener fences again):
 *   1. list the directory; the highest fence H is the owner. H > epoch: refused, FAILED_PRECONDITION
 *      `owner epoch is stale` (nothing written). H = epoch: this owner reopens; done (step 5).
 *   2. create `FENCE-<epoch>.<pid>.tmp` (its text, who fenced, for people, is written beside
 *      steps 3–4 and never synced: only the name counts, and a crash may leave the fence empty);
 *   3. `link()` it to `FENCE-<epoch>`: EEXIST means another opener claimed the same epoch at the
 *      same moment, which the epoch's issuer never allows: refused, FAILED_PRECONDITION;
 *   4. sync the directory (and remove the temp file): from here on the fence is durable, and every
 *      lower owner's next check fails. Recovery (engine-recovery.ts) reads the manifest only now;
 *   5. remove lower fences and stray fence temp files (a crash leaves them: only the highest
 *      fence counts).
 * A crash before step 4 completes may lose the fence; nothing has relied on it yet (recovery has
 * not read anything), and the restarted opener fences again.
 *
 * The check lists the directory (one readdir) and compares the highest fence with this owner's
 * epoch. It is a check-then-act without compare-and-swap: a commit whose check passed just before
 * the fence landed still lands. The RFC shows why each such late commit is harmless to the new
 * owner or visible only within the window it states.
 *
 * Concurrency: single event-loop thread. In one process, a registry keeps two engines of the same
 * epoch off one directory; a higher epoch may open it while a lower one is open (that is a
 * takeover, and what the fence is for). `verifyForAck` coalesces the checks of writes whose syncs
 * completed in the same turn into one listing.
 * Invariant: once a check has found a higher fence, `stale` is set for good.
 */
import { hostname } from 'node:os';
import { ErrorCode, errors, hasCode, type TabulaError } from '../common/errors.js';
import { fenceEpoch, fenceFileName, highestFence, pointerEpoch } from './file-names.js';
import { joinPath, type Vfs } from './vfs.js';

/** What an engine fences with: an epoch from its issuer, or `'next'` (1 + the highest fence). */
export type OwnerEpochOption = number | 'next';

/** Epochs of the directories fenced by engines open in this process, per file system. */
const openFenced = new WeakMap<Vfs, Map<string, number>>();

/** Suffix of the temp file a fence is written to before its link. */
const FENCE_TEMP_SUFFIX = '.tmp';
/** `FENCE-<epoch>.<nonce>.tmp` */
const FENCE_TEMP_NAME = /^FENCE-([1-9][0-9]{0,14})\.[0-9a-z]+\.tmp$/;

const STALE_MESSAGE = 'owner epoch is stale';

function staleError(dir: string, epoch: number, fencedBy: number): TabulaError {
  return errors.failedPrecondition(STALE_MESSAGE, { dir, epoch, fencedBy });
}

/** Whether `err` is a fence's refusal: a newer owner fenced the directory. */
export function isStaleOwnerEpoch(err: unknown): boolean {
  return (
    hasCode(err, ErrorCode.FailedPrecondition) && err instanceof Error && err.message.includes(STALE_MESSAGE)
  );
}

/** The fence of one engine's directory under one owner epoch. */
export class OwnerFence {
  private staleFailure: TabulaError | undefined;
  private queuedCheck: Promise<void> | undefined;
  private released = false;
  /** Called once, when a check first finds a higher fence (the engine stops writes). */
  onStale: ((err: TabulaError) => void) | undefined;
  /** Directory listings done by checks (for tests and measurements). */
  checks = 0;

  private constructor(
    private readonly vfs: Vfs,
    /** The fenced directory. */
    readonly dir: string,
    /** This owner's epoch. */
    readonly epoch: number,
  ) {}

  /**
   * Fences `dir` with `option` (see the file comment) or fails with FAILED_PRECONDITION: a higher
   * epoch fenced it, another opener claimed the same epoch, or an engine of this epoch or a higher
   * one has it open in this process.
   */
  static async claim(vfs: Vfs, dir: string, option: OwnerEpochOption): Promise<OwnerFence> {
    const names = await vfs.list(dir);
    const highest = highestFence(names);
    const epoch = option === 'next' ? highest + 1 : option;
    if (!Number.isSafeInteger(epoch) || epoch < 1) {
      throw errors.invalidArgument('owner epoch must be a positive integer', { epoch: String(epoch) });
    }
    if (highest > epoch) throw staleError(dir, epoch, highest);
    const registry = openFenced.get(vfs) ?? new Map<string, number>();
    openFenced.set(vfs, registry);
    const held = registry.get(dir);
    if (held !== undefined && held >= epoch) {
      throw errors.failedPrecondition('store is already open in this process', { dir, epoch, heldBy: held });
    }
    registry.set(dir, epoch);
    const fence = new OwnerFence(vfs, dir, epoch);
    try {
      if (highest < epoch) await fence.link();
      // The listing above serves: a lower fence made since is harmless and goes at the next call.
      await fence.removeSuperseded(false, names);
    } catch (err) {
      await fence.release();
      throw err;
    }
    return fence;
  }

  /** Steps 2–4 of the file comment. */
  private async link(): Promise<void> {
    // The pid names the temp file: no draw from the engine's randomness, which replays must not see.
    const temp = joinPath(
      this.dir,
      `${fenceFileName(this.epoch)}.${process.pid.toString(36)}${FENCE_TEMP_SUFFIX}`,
    );
    const file = await this.vfs.createWritable(temp);
    // Only the name counts: the text is written beside the link and the directory sync.
    const described = file
      .append(Buffer.from(`epoch=${this.epoch} pid=${process.pid} host=${hostname()}\n`, 'utf8'))
      .finally(() => file.close())
      .catch(() => undefined);
    try {
      await this.vfs.link(temp, joinPath(this.dir, fenceFileName(this.epoch)));
    } catch (err) {
      await described;
      await this.vfs.remove(temp);
      if (!hasCode(err, ErrorCode.AlreadyExists)) throw err;
      const highest = highestFence(await this.vfs.list(this.dir));
      if (highest > this.epoch) throw staleError(this.dir, this.epoch, highest);
      throw errors.failedPrecondition('owner epoch was claimed by another opener', {
        dir: this.dir,
        epoch: this.epoch,
      });
    }
    await Promise.all([this.vfs.syncDir(this.dir), described.then(() => this.vfs.remove(temp))]);
  }

  /** The failure of the check that found a higher fence, if one has. */
  get stale(): TabulaError | undefined {
    return this.staleFailure;
  }

  /**
   * Lists the directory and fails with FAILED_PRECONDITION `owner epoch is stale` if a higher
   * epoch has fenced it. Call immediately before a commit point becomes durable or live.
   */
  async check(): Promise<void> {
    if (this.staleFailure) throw this.staleFailure;
    this.checks++;
    const highest = highestFence(await this.vfs.list(this.dir));
    if (highest <= this.epoch) return;
    const failure = this.staleFailure ?? staleError(this.dir, this.epoch, highest);
    if (!this.staleFailure) {
      this.staleFailure = failure;
      this.onStale?.(failure);
    }
    throw failure;
  }

  /** Whether this owner is still the highest (a failed check reports false, not an error). */
  async stillOwner(): Promise<boolean> {
    try {
      await this.check();
      return true;
    } catch (err) {
      if (err === this.staleFailure) return false;
      throw err;
    }
  }

  /**
   * `check()` for a write whose WAL append has completed: every caller in the same turn shares one
   * listing, started after all of their appends completed (so it proves each of them).
   */
  verifyForAck(): Promise<void> {
    if (this.staleFailure) return Promise.reject(this.staleFailure);
    this.queuedCheck ??= Promise.resolve().then(() => {
      this.queuedCheck = undefined;
      return this.check();
    });
    return this.queuedCheck;
  }

  /**
   * Removes the fences and fence temp files of lower epochs (only the highest counts), and with
   * `pointers` their manifest pointers too: only once this owner's own pointer is durable, since
   * until then the lower pointer names the live manifest. A fenced owner's late rename may recreate
   * its pointer; that is harmless (the live pointer is the highest) and removed at the next call.
   * The names come from `listed` when given, else from a fresh listing; they go side by side.
   */
  async removeSuperseded(pointers: boolean, listed?: readonly string[]): Promise<void> {
    const doomed: string[] = [];
    for (const name of listed ?? (await this.vfs.list(this.dir))) {
      // Temp files of this epoch too: a crashed fencing of this epoch left them.
      const temp = FENCE_TEMP_NAME.exec(name);
      const superseded =
        (temp !== null && Number(temp[1]) <= this.epoch) ||
        (fenceEpoch(name) ?? this.epoch) < this.epoch ||
        (pointers && (pointerEpochOf(name) ?? this.epoch) < this.epoch);
      if (superseded) doomed.push(joinPath(this.dir, name));
    }
    await Promise.all(doomed.map((path) => this.vfs.remove(path)));
  }

  /** Lets another engine of this process open the directory under this epoch again. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const registry = openFenced.get(this.vfs);
    if (registry?.get(this.dir) === this.epoch) registry.delete(this.dir);
  }
}

/** The epoch of a manifest pointer or its temp file (`CURRENT` and `CURRENT.tmp` count as 0). */
function pointerEpochOf(name: string): number | undefined {
  return pointerEpoch(name.endsWith(FENCE_TEMP_SUFFIX) ? name.slice(0, -FENCE_TEMP_SUFFIX.length) : name);
}
