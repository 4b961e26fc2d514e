/**
 * Splitting a tablet in two and merging two adjacent tablets into one, as metadata operations:
 * the new tablets' stores reference the old tablets' SSTables restricted to their ranges
 * (src/storage/file-refs.ts); nothing is copied.
 *
 * Protocol of a split (a merge is the same with two parents and one child):
 * 1. Stop compactions of the parent and flush its memtable while writes go on.
 * 2. Pick the split row from the SSTable indexes (a block boundary near the middle of the bytes),
 *    moved to the start of the row there: a split never falls inside a row.
 * 3. Create the children's stores (a manifest of references each) and open them; flush the
 *    parent again until its memtables are small.
 * 4. Pause the parent's writes (writes inside finish first). Each child adopts the files the
 *    parent flushed since step 3 and is handed, as writes to its own log, the parent's writes of
 *    its range that no file holds yet (read from the parent's memtables): no flush under the pause.
 * 5. One catalog write retires the parent and makes the children live: the commit point. A crash
 *    before it leaves the parent live and the children's directories garbage; after it, the
 *    children live and the parent's directory garbage except for the files they reference.
 * 6. Swap the tablets in the table's set and reopen the gate: waiting writes route to the children.
 * 7. The parent's engine closes once no scan reads it; its files are deleted once unreferenced.
 *
 * Where it runs: the protocol is the tablet host's (it owns the engines, the write gates and the
 * files); only step 5, the catalog transaction, is the metadata service's, reached through
 * `SplitContext.commitTablets` (`MetadataCommits`, src/tablet/tablet-host-api.ts). Moving the
 * orchestration to the master would have it drive engines it does not own, so it stays here.
 *
 * Writers wait only during steps 4–6. A failed catalog write leaves the outcome unknown until the
 * next open, so the parent then refuses writes (fail-stop) instead of risking a lost write.
 */
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import {
  SPLIT_PAUSE_MEMTABLE_BYTES_MAX,
  SPLIT_PREFLUSH_ROUNDS_MAX,
  SPLIT_SAMPLES_MIN,
  SPLIT_SCAN_ROWS_MAX,
} from '../common/limits.js';
import { decodeCellKey, rowEndKey, rowStartKey } from '../model/cell-key.js';
import { Engine, type EngineOptions } from '../storage/engine.js';
import { sourceKey } from '../storage/file-refs.js';
import type { LevelFile } from '../storage/store-refs.js';
import { medianKey } from '../storage/store-refs.js';
import type { TabletRecord } from './catalog.js';
import { readReservation } from './tablet.js';
import type { TabletHandle } from './tablet-handle.js';
import type { TabletChange } from './tablet-host-api.js';
import type { TabletSet } from './tablet-set.js';

/** What a split or merge needs from the tablet host. */
export interface SplitContext {
  /** Records the split or merge in the catalog (the metadata service's transaction; step 5). */
  commitTablets(change: TabletChange): Promise<void>;
  readonly clock: Clock;
  /** Engine options (file system and the like) for a new tablet directory. */
  storeOptions(tabletDir: string): EngineOptions;
  /** A fresh, unique tablet directory name. */
  newTabletDir(): string;
  /** Opens a created tablet under `ownerEpoch` (its references counted, its directory live). */
  openTablet(record: TabletRecord, ownerEpoch: number): Promise<TabletHandle>;
  /** The same open tablet under its final record (range, timestamp floor). */
  rebind(t: TabletHandle, record: TabletRecord): TabletHandle;
  /** Counts references a tablet's store took after it opened (`adoptFiles`). */
  countRefs(refs: readonly LevelFile[]): void;
  /** Closes a tablet once no scan reads it and collects its files (in the background). */
  retireTablet(t: TabletHandle): void;
  /** Closes a tablet and leaves its files for the next open to judge (in the background). */
  abandonTablet(t: TabletHandle): void;
  /** The table's live tablets (what a split or merge needs of them). */
  tablets(): Pick<TabletSet, 'next' | 'replace'>;
  /**
   * Whether a failed `commitTablets` is a refusal: the change was not recorded and never will be,
   * so the parents go on serving (a cluster's master refuses a stale owner). Absent: every failure
   * leaves the outcome unknown.
   */
  isRefusal?(err: unknown): boolean;
  /**
   * Called once the children are made, just before the parents' writes pause (a cluster's server
   * takes the table's gate at the master here); a failure abandons the change, nothing paused.
   */
  beforePause?(): Promise<void>;
  /** Reports how long writers of a tablet were paused, and where the time went. */
  pauseObserved(ms: number, phases: PausePhases): void;
}

/**
 * Where a pause's time went: waiting for the writes inside the gate to finish, reading the writes
 * the parents' memtables hold, the children adopting the new files and writing those writes,
 * the catalog commit.
 */
export interface PausePhases {
  drainMs: number;
  handOverMs: number;
  adoptMs: number;
  commitMs: number;
}

/**
 * The row to split `t` at: near the middle of its bytes, strictly inside its range, or undefined
 * when it has fewer than two rows.
 */
export function chooseSplitRow(t: TabletHandle): Buffer | undefined {
  const inside = (k: Buffer) => t.containsKey(k);
  const samples = t.engine.blockSamples().filter((s) => inside(s.key));
  let row: Buffer | undefined;
  if (samples.length >= SPLIT_SAMPLES_MIN) {
    const mid = medianKey(samples);
    row = mid && firstRowFrom(t, mid);
  } else {
    row = middleRowByCount(t);
  }
  if (row === undefined) return undefined;
  // The first row of the tablet leaves nothing on the left: take the next one.
  if (Buffer.compare(rowStartKey(row), t.startKey) <= 0) row = firstRowFrom(t, rowEndKey(row));
  return row;
}

function firstRowFrom(t: TabletHandle, key: Buffer): Buffer | undefined {
  for (const [k] of t.engine.scan({ start: key, ...(t.endKey ? { end: t.endKey } : {}) })) {
    return decodeCellKey(k).rowKey;
  }
  return undefined;
}

function middleRowByCount(t: TabletHandle): Buffer | undefined {
  const range = { start: t.startKey, ...(t.endKey ? { end: t.endKey } : {}) };
  const rows: Buffer[] = [];
  let last: Buffer | undefined;
  for (const [k] of t.engine.scan(range)) {
    const row = decodeCellKey(k).rowKey;
    if (last === undefined || !row.equals(last)) {
      rows.push(row);
      last = row;
      if (rows.length >= SPLIT_SCAN_ROWS_MAX) break;
    }
  }
  return rows.length >= 2 ? rows[rows.length >> 1] : undefined;
}

/** Splits `t`; false when it cannot (retired meanwhile, or a single row). */
export async function splitTablet(ctx: SplitContext, t: TabletHandle): Promise<boolean> {
  if (t.retired || t.failure) return false;
  await t.engine.suspendCompactions();
  try {
    await t.engine.flush();
    const splitRow = chooseSplitRow(t);
    if (splitRow === undefined) return false;
    const splitKey = rowStartKey(splitRow);
    await replaceTablets(
      ctx,
      [t],
      (floor, sources) => [
        childRecord(
          ctx,
          t.record,
          { startRow: t.record.startRow, endRow: splitRow },
          floor,
          sources[0] ?? [],
        ),
        childRecord(ctx, t.record, { startRow: splitRow, endRow: t.record.endRow }, floor, sources[1] ?? []),
      ],
      () => [
        [{ engine: t.engine, lo: t.startKey, hi: splitKey }],
        [{ engine: t.engine, lo: splitKey, hi: t.endKey }],
      ],
    );
    return true;
  } finally {
    if (!t.retired) t.engine.resumeCompactions();
  }
}

/** Merges adjacent tablets `a` and `b` (b right after a); false when either retired meanwhile. */
export async function mergeTablets(ctx: SplitContext, a: TabletHandle, b: TabletHandle): Promise<boolean> {
  if (a.retired || b.retired || a.failure || b.failure) return false;
  if (ctx.tablets().next(a) !== b) return false;
  await a.engine.suspendCompactions();
  await b.engine.suspendCompactions();
  try {
    await Promise.all([a.engine.flush(), b.engine.flush()]);
    await replaceTablets(
      ctx,
      [a, b],
      (floor, sources) => [
        childRecord(
          ctx,
          a.record,
          { startRow: a.record.startRow, endRow: b.record.endRow },
          floor,
          sources[0] ?? [],
        ),
      ],
      () => [
        [
          { engine: a.engine, lo: a.startKey, hi: a.endKey },
          { engine: b.engine, lo: b.startKey, hi: b.endKey },
        ],
      ],
    );
    return true;
  } finally {
    if (!a.retired) a.engine.resumeCompactions();
    if (!b.retired) b.engine.resumeCompactions();
  }
}

function childRecord(
  ctx: SplitContext,
  parent: TabletRecord,
  range: { startRow: Buffer | undefined; endRow: Buffer | undefined },
  timestampFloorMicros: number,
  refs: readonly LevelFile[],
): TabletRecord {
  return {
    tableId: parent.tableId,
    tabletDir: ctx.newTabletDir(),
    ...range,
    timestampFloorMicros,
    sources: [
      // fileRefs names every reference's physical file.
      ...new Set(refs.flatMap((r) => (r.file.source ? [sourceKey(r.file.source)] : []))),
    ],
  };
}

/** The part of a parent's store in [lo, hi) that goes to one child. */
interface Slice {
  engine: Engine;
  lo: Buffer;
  hi: Buffer | undefined;
}

/**
 * Steps 3–7 of the protocol for `parents` (adjacent, compactions stopped, flushed). The children
 * are created and opened from the parents' files *before* writers pause. Under the pause they
 * adopt what the parents flushed since, and are handed the writes no file holds yet, read from
 * the parents' memtables (`slicesOf` gives the parents' slices of each child). So the pause costs
 * no flush: one manifest append and one log write per child, and the catalog commit.
 */
async function replaceTablets(
  ctx: SplitContext,
  parents: readonly TabletHandle[],
  recordsOf: (floor: number, sources: readonly (readonly LevelFile[])[]) => TabletRecord[],
  slicesOf: () => Slice[][],
): Promise<void> {
  const refsOf = () => slicesOf().map((slices) => slices.flatMap((s) => s.engine.fileRefs(s.lo, s.hi)));
  const before = refsOf();
  const sequenceBefore = Math.max(...parents.map((p) => p.engine.stats().lastSequence));
  const dirs = recordsOf(0, before).map((r) => r.tabletDir);
  const opened: TabletHandle[] = [];
  let outcome = 'before-commit' as 'before-commit' | 'unknown' | 'committed';
  let pausedAtMs: number | undefined;
  const phases: PausePhases = { drainMs: 0, handOverMs: 0, adoptMs: 0, commitMs: 0 };
  try {
    await Promise.all(
      dirs.map((dir, i) => Engine.createWithFiles(ctx.storeOptions(dir), before[i] ?? [], sequenceBefore)),
    );
    // The children are opened under the parents' owner epoch (one host owns a table's tablets).
    const ownerEpoch = (parents[0] as TabletHandle).ownerEpoch;
    for (const dir of dirs) opened.push(await ctx.openTablet(provisionalRecord(parents, dir), ownerEpoch));
    // Writes went on while the children were made: flush them now, so the pause hands over little
    // (what the memtables hold, frozen ones included, is copied to the children under the pause).
    for (let round = 0; round < SPLIT_PREFLUSH_ROUNDS_MAX; round++) {
      const pending = parents.reduce((n, p) => n + p.engine.memtableBytes(), 0);
      if (pending <= SPLIT_PAUSE_MEMTABLE_BYTES_MAX) break;
      await Promise.all(parents.map((p) => p.engine.flush()));
    }
    await ctx.beforePause?.();
    pausedAtMs = ctx.clock.monotonicMs();
    let phaseStartMs = pausedAtMs;
    const endPhase = (phase: keyof PausePhases) => {
      const now = ctx.clock.monotonicMs();
      phases[phase] = now - phaseStartMs;
      phaseStartMs = now;
    };
    for (const p of parents) await p.pause();
    endPhase('drainMs');
    // One instant, synchronously: the files each child adopts and the writes no file holds yet.
    // A flush of the parents that ends later adds a file with writes the hand-over already has.
    const after = refsOf();
    const handOver = slicesOf().map((slices) => slices.flatMap((s) => s.engine.unflushedBatches(s.lo, s.hi)));
    endPhase('handOverMs');
    const lastSequence = Math.max(...parents.map((p) => p.engine.stats().lastSequence));
    const floor = Math.max(
      ...parents.map((p) => Math.max(readReservation(p.engine), p.record.timestampFloorMicros)),
    );
    const added = after.map((refs, i) => {
      const known = new Set((before[i] ?? []).map((r) => refIdentity(r)));
      return refs.filter((r) => !known.has(refIdentity(r)));
    });
    await Promise.all(
      opened.map(async (c, i) => {
        await c.engine.adoptFiles(added[i] ?? [], lastSequence);
        ctx.countRefs(added[i] ?? []);
        // After the adoption, so these writes are newer than every adopted file; in order, so
        // each child sees the parents' history of its range. Durable before the commit below.
        for (const batch of handOver[i] ?? []) await c.engine.write(batch);
      }),
    );
    endPhase('adoptMs');
    const records = recordsOf(floor, after).map((r, i) => ({ ...r, tabletDir: dirs[i] as string }));
    const children = opened.map((c, i) => ctx.rebind(c, records[i] as TabletRecord));
    try {
      outcome = 'unknown';
      await ctx.commitTablets({ removeTablets: parents.map((p) => p.record), putTablets: records });
      endPhase('commitMs');
    } catch (err) {
      if (ctx.isRefusal?.(err)) {
        outcome = 'before-commit';
        throw err;
      }
      // The commit may or may not be durable: only the next open can tell. Refuse writes here.
      const failure = errors.unavailable('a tablet split or merge could not be recorded; reopen the store', {
        cause: String(err),
      });
      for (const p of parents) p.failure = failure;
      throw err;
    }
    outcome = 'committed';
    ctx.tablets().replace(parents, children);
    for (const p of parents) p.retired = true;
  } finally {
    for (const p of parents) if (p.paused) p.resume();
    if (pausedAtMs !== undefined) ctx.pauseObserved(ctx.clock.monotonicMs() - pausedAtMs, phases);
    if (outcome === 'before-commit') for (const c of opened) ctx.retireTablet(c);
    if (outcome === 'unknown') for (const c of opened) ctx.abandonTablet(c);
  }
  for (const p of parents) ctx.retireTablet(p);
}

/** A reference's identity across two `fileRefs` calls of an unchanged file set. */
function refIdentity(r: LevelFile): string {
  return `${r.level}:${r.file.source ? sourceKey(r.file.source) : r.file.fileNumber}`;
}

/** The record a child is opened with before its range and floor are final (not persisted). */
function provisionalRecord(parents: readonly TabletHandle[], tabletDir: string): TabletRecord {
  const first = parents[0] as TabletHandle;
  return { ...first.record, tabletDir, sources: [] };
}
