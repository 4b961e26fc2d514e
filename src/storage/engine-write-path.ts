/**
 * The engine's write path: admission, the WAL append and the memtable apply.
 *
 * A batch is admitted in call order, one at a time: admission makes room (stalling on flushes and
 * compactions, or rotating a full memtable), stamps the batch with consecutive sequence numbers and
 * starts its WAL append (group commit: concurrent batches share one fdatasync). The batch is applied
 * to the memtable only once durable, so a reader never sees a write that a crash could take back.
 *
 * Invariants: the sequences in the WALs are contiguous (a rotation reuses the sequences of writes
 * that failed); a memtable and its WAL are frozen together, only during admission and only once
 * every admitted write has settled.
 *
 * Failure model: an fsync/EIO failure of the WAL is fail-stop for writes (`writeFailure`). ENOSPC
 * while appending refuses the write with RESOURCE_EXHAUSTED and the next write starts a new WAL.
 *
 * Fencing (with an owner epoch, owner-fence.ts): a new WAL segment is created only after a check
 * that no higher epoch has fenced the directory, and a write is acknowledged (applied and resolved)
 * only after a check that started once its append completed (unless `fenceAcknowledgements` is
 * off: a single process under its store lock); the checks of one group commit share one listing. A fenced owner's write fails with FAILED_PRECONDITION `owner epoch is
 * stale`, and so does every later one (docs/rfcs/0003-epoch-fencing.md).
 *
 * Concurrency: single event-loop thread; admission is serialized by a promise chain (`inTurn`).
 */
import { assert } from '../common/assert.js';
import { ErrorCode, errors, type TabulaError } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { EngineState } from './engine-state.js';
import { walFileName } from './file-names.js';
import { EntryKind } from './internal-key.js';
import { Memtable, memtableFilterBytes } from './memtable.js';
import { joinPath } from './vfs.js';
import { WalWriter } from './wal-writer.js';
import { BatchCursor, BatchOp, type WriteBatch } from './write-batch.js';

/** Admits batches into the WAL and the memtable, and rotates the memtable with its WAL. */
export class WriteAdmission {
  private admission: Promise<unknown> = Promise.resolve();
  private inflightWrites = 0;
  /** Bytes admitted into the active memtable's WAL, applied or not: what the size check uses. */
  private admittedBytes = 0;
  private drainWaiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];

  /** @param scheduleBackgroundWork starts a flush of what a rotation froze, if none runs. */
  constructor(
    private readonly state: EngineState,
    private readonly scheduleBackgroundWork: () => void,
  ) {}

  /** Settles once everything queued for admission so far has had its turn. */
  get settled(): Promise<unknown> {
    return this.admission;
  }

  /** Runs `step` once every earlier turn has settled; a failed turn does not block later ones. */
  inTurn<T>(step: () => Promise<T>): Promise<T> {
    const turn = this.admission.then(step);
    this.admission = turn.catch(() => undefined);
    return turn;
  }

  /** Applies `batch` atomically. Resolves once durable (per the durability option). */
  write(batch: WriteBatch): Promise<void> {
    if (batch.count === 0) return Promise.resolve();
    const record = Buffer.from(batch.encode(0));
    const turn = this.inTurn(() => this.admit(record, batch.count));
    return turn.then((applied) => applied.done);
  }

  private async admit(record: Buffer, count: number): Promise<{ done: Promise<void> }> {
    const state = this.state;
    await this.makeRoomForWrite();
    const base = state.lastSequence + 1;
    state.lastSequence += count;
    record.writeUInt32LE(base % 0x1_0000_0000, 0);
    record.writeUInt32LE(Math.floor(base / 0x1_0000_0000), 4);
    const mem = state.mem;
    this.admittedBytes += record.length;
    this.inflightWrites++;
    const fence = state.opts.fenceAcknowledgements ? state.fence : undefined;
    const appended = state.wal.append(record, state.opts.durability === 'sync');
    const done = (fence ? appended.then(() => fence.verifyForAck()) : appended)
      .then(() => this.apply(mem, record))
      .finally(() => this.writeSettled());
    return { done };
  }

  private apply(mem: Memtable, record: Buffer): void {
    // Straight from the record: no decoded entry objects, no Buffer per key or value.
    const cursor = BatchCursor.open(record);
    assert(cursor, 'admitted batch does not decode');
    let sequence = cursor.baseSequence;
    while (cursor.next()) {
      if (cursor.op === BatchOp.DeleteRange) {
        mem.addRangeTombstone(
          record.subarray(cursor.keyOffset, cursor.keyOffset + cursor.keyLength),
          record.subarray(cursor.valueOffset, cursor.valueOffset + cursor.valueLength),
          sequence,
        );
        this.state.tombstoneCache = undefined;
      } else {
        const kind = cursor.op === BatchOp.Put ? EntryKind.Put : EntryKind.Delete;
        mem.addFrom(
          record,
          cursor.keyOffset,
          cursor.keyLength,
          sequence,
          kind,
          record,
          cursor.valueOffset,
          cursor.valueLength,
        );
      }
      sequence++;
    }
    assert(!cursor.malformed, 'admitted batch does not decode');
    if (sequence - 1 > this.state.visibleSequence) this.state.visibleSequence = sequence - 1;
  }

  private writeSettled(): void {
    this.inflightWrites--;
    if (this.inflightWrites === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async makeRoomForWrite(): Promise<void> {
    const state = this.state;
    const opts = state.opts;
    const stallStartMs = opts.clock.monotonicMs();
    for (;;) {
      if (state.closed) throw errors.unavailable('store is closed', { dir: opts.dir });
      if (state.writeFailure) throw state.writeFailure;
      const walFailure = state.wal.failure;
      if (walFailure) {
        if (!isRecoverableWalFailure(walFailure)) {
          state.writeFailure = errors.unavailable(
            'writes stopped after a write-ahead log failure; reopen the store',
            {
              cause: walFailure.message,
            },
          );
          throw state.writeFailure;
        }
        await this.rotateMemtable();
        continue;
      }
      if (Math.max(state.mem.approximateBytes, this.admittedBytes) < opts.memtableBytes) return;
      const l0Files = state.version.levels[0]?.length ?? 0;
      // While a split or merge holds compactions suspended, only they could lower L0: stalling
      // writers on it would deadlock with the split's flush (queued behind them on admission).
      const l0Full = l0Files >= opts.l0StopWritesTrigger && !state.compactionsSuspended;
      if (state.immutables.length >= limits.IMMUTABLE_MEMTABLES_MAX || l0Full) {
        if (opts.clock.monotonicMs() - stallStartMs > opts.writeStallMsMax) {
          throw errors.resourceExhausted('writes stalled waiting for flush and compaction', {
            waitedMs: Math.round(opts.clock.monotonicMs() - stallStartMs),
          });
        }
        await this.waitForRoom();
        continue;
      }
      await this.rotateMemtable();
      return;
    }
  }

  private waitForRoom(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 100);
      this.roomWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Wakes writers stalled for room: a background job has finished. */
  wakeWriters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once no admitted write is in flight. */
  async drainWrites(): Promise<void> {
    if (this.inflightWrites === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Freezes the memtable with its WAL and starts a new pair. Called only during admission. */
  async rotateMemtable(): Promise<void> {
    const state = this.state;
    await this.drainWrites();
    // Every admitted write has settled; writes that failed consumed sequences that no WAL holds.
    // Reuse them so the sequences in the WALs stay contiguous (recovery checks that).
    state.lastSequence = state.visibleSequence;
    await state.fence?.check();
    const number = state.nextFileNumber++;
    const wal = await WalWriter.create(state.opts.vfs, joinPath(state.opts.dir, walFileName(number)));
    await state.wal.close().catch(() => undefined);
    state.addClosedWalSyncs(state.wal);
    if (!state.mem.isEmpty) {
      state.immutables.push({ mem: state.mem, walNumber: state.walNumber });
      state.mem = new Memtable(state.opts.rand, memtableFilterBytes(state.opts.memtableBytes));
    }
    state.wal = wal;
    state.walNumber = number;
    this.admittedBytes = 0;
    this.scheduleBackgroundWork();
  }
}

function isRecoverableWalFailure(err: TabulaError): boolean {
  return err.code === ErrorCode.ResourceExhausted && err.details.op === 'append';
}
