/**
 * A tablet: the rows of one table in a row range, stored in one engine. Row operations are atomic
 * per row — every mutation list becomes one engine write batch, and every write to a row runs under
 * the row's lock so CheckAndMutateRow and ReadModifyWriteRow are atomic read-then-write steps.
 *
 * Engine key space: cell keys (src/model/cell-key.ts) from DATA_START_KEY up; below it, tablet
 * metadata such as the timestamp reservation (keys starting 0x00 0x01 can never be cell keys,
 * because a row key is never empty).
 */
import { type Clock, systemClock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import { CELL_VALUE_BYTES_MAX, MUTATE_ROWS_BATCH_BYTES_TARGET } from '../common/limits.js';
import { columnTimeKeyRange, encodeCellKey, familyKeyRange, rowKeyRange } from '../model/cell-key.js';
import { compileGcRule, type GcPolicy } from '../model/gc-rule.js';
import { SERVER_TIMESTAMP_MICROS, type ValidMutation } from '../model/mutation.js';
import { incrementInt64, type ValidReadModifyWriteRule } from '../model/read-modify-write.js';
import type { Cell, RowCells } from '../model/row-cells.js';
import type { CompiledFilter } from '../model/row-filter.js';
import type { Engine } from '../storage/engine.js';
import { WriteBatch } from '../storage/write-batch.js';
import { RowLocks } from './row-locks.js';
import { type ReadContext, readRows, selectionRanges } from './row-reader.js';
import type { ReadRowsQuery, RowKeySample, RowMutations, TableSchema, Tablet } from './table-store-api.js';
import { TimestampOracle } from './timestamp-oracle.js';

/** Metadata key holding the timestamp reservation (u64 big-endian micros). */
export const TIMESTAMP_RESERVATION_KEY = Buffer.from('\x00\x01timestamp-reservation', 'latin1');
const MICROS_PER_MS = 1000;

/** The timestamp reservation persisted in `engine` (0 if none). */
export function readReservation(engine: Engine): number {
  const v = engine.get(TIMESTAMP_RESERVATION_KEY);
  return v && v.length === 8 ? Number(v.readBigUInt64BE(0)) : 0;
}

/** A tablet of a Bigtable-model table. */
export class BigtableTablet implements Tablet {
  private readonly locks = new RowLocks();
  private readonly oracle: TimestampOracle;
  private policies: Map<string, GcPolicy> = new Map();

  constructor(
    readonly engine: Engine,
    private schema: TableSchema,
    private readonly clock: Clock = systemClock,
    /** Server timestamps start above this (a split child inherits its parent's reservation). */
    timestampFloorMicros = 0,
  ) {
    this.oracle = new TimestampOracle(clock, Math.max(readReservation(engine), timestampFloorMicros));
    this.setSchema(schema);
  }

  /** Installs a new schema (families, GC rules). */
  setSchema(schema: TableSchema): void {
    this.schema = schema;
    const policies = new Map<string, GcPolicy>();
    for (const f of schema.families.values()) policies.set(f.name, compileGcRule(f.gcRule));
    this.policies = policies;
  }

  mutateRow(rowKey: Buffer, mutations: readonly ValidMutation[]): Promise<void> {
    return this.locks.write(rowKey, () => this.writeRow(rowKey, mutations));
  }

  /**
   * Applies many rows' mutations with as few engine batches as possible: every valid entry goes
   * into one WriteBatch (a new one past MUTATE_ROWS_BATCH_BYTES_TARGET; an entry is never split, so
   * each row stays atomic), and entries for one row keep their order. Rows with an exclusive
   * operation in flight go into a second group of batches that waits for those operations.
   */
  async mutateRows(entries: readonly RowMutations[]): Promise<unknown[]> {
    const outcomes: unknown[] = new Array(entries.length).fill(undefined);
    const free: number[] = [];
    const blocked: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      (this.locks.hasExclusive((entries[i] as RowMutations).rowKey) ? blocked : free).push(i);
    }
    const writes: Promise<void>[] = [];
    for (const group of [free, blocked]) {
      if (group.length === 0) continue;
      const keys = group.map((i) => (entries[i] as RowMutations).rowKey);
      writes.push(this.locks.writeMany(keys, () => this.writeEntries(entries, group, outcomes)));
    }
    await Promise.all(writes);
    return outcomes;
  }

  readRows(query: ReadRowsQuery): Generator<RowCells, void, undefined> {
    return readRows(this.engine, selectionRanges(query.selection), {
      reversed: query.reversed,
      filter: query.filter,
      rowsLimit: query.rowsLimit,
      context: () => this.readContext(),
    });
  }

  checkAndMutateRow(
    rowKey: Buffer,
    predicate: CompiledFilter | undefined,
    trueMutations: readonly ValidMutation[],
    falseMutations: readonly ValidMutation[],
  ): Promise<boolean> {
    return this.locks.exclusive(rowKey, async () => {
      const row = this.currentRow(rowKey);
      const matched = row !== undefined && (predicate ? (predicate.apply(row)?.cells.length ?? 0) > 0 : true);
      const mutations = matched ? trueMutations : falseMutations;
      if (mutations.length > 0) await this.writeRow(rowKey, mutations);
      return matched;
    });
  }

  readModifyWriteRow(rowKey: Buffer, rules: readonly ValidReadModifyWriteRule[]): Promise<RowCells> {
    return this.locks.exclusive(rowKey, async () => {
      for (const r of rules) this.requireFamily(r.family);
      const row = this.currentRow(rowKey);
      const latest = new Map<string, Cell>();
      for (const c of row?.cells ?? []) {
        const id = `${c.family}\u0000${c.qualifier.toString('latin1')}`;
        if (!latest.has(id)) latest.set(id, c);
      }
      const nowMicros = Math.floor(this.clock.nowMs()) * MICROS_PER_MS;
      const updated = new Map<string, Cell>();
      rules.forEach((rule, i) => {
        const id = `${rule.family}\u0000${rule.qualifier.toString('latin1')}`;
        const current = updated.get(id) ?? latest.get(id);
        const value =
          rule.kind === 'append'
            ? appendValue(current?.value, rule.value, i)
            : incrementInt64(current?.value, rule.amount, `rules[${i}]`);
        const ts = Math.max(nowMicros, current?.timestampMicros ?? 0);
        updated.set(id, {
          family: rule.family,
          qualifier: rule.qualifier,
          timestampMicros: ts,
          value,
          labels: [],
        });
      });
      const mutations: ValidMutation[] = [...updated.values()].map((c) => ({
        kind: 'setCell',
        family: c.family,
        qualifier: c.qualifier,
        timestampMicros: c.timestampMicros,
        value: c.value,
      }));
      await this.writeRow(rowKey, mutations);
      const cells = [...updated.values()].sort((a, b) =>
        a.family < b.family ? -1 : a.family > b.family ? 1 : Buffer.compare(a.qualifier, b.qualifier),
      );
      return { key: rowKey, cells };
    });
  }

  sampleRowKeys(): RowKeySample[] {
    const s = this.engine.stats();
    const bytes = s.levelBytes.reduce((a, b) => a + b, 0) + (s.memtableEntries > 0 ? s.memtableBytes : 0);
    // The last sample is the empty key: the end of the table.
    return [{ rowKey: Buffer.alloc(0), offsetBytes: bytes }];
  }

  /** The row as reads see it now (GC and schema applied, no filter), or undefined if empty. */
  private currentRow(rowKey: Buffer): RowCells | undefined {
    const pass: CompiledFilter = { apply: (r) => r };
    for (const row of readRows(this.engine, [rowKeyRange(rowKey)], {
      reversed: false,
      filter: pass,
      rowsLimit: 1,
      context: () => this.readContext(),
    })) {
      return row;
    }
    return undefined;
  }

  private readContext(): ReadContext {
    return { policies: this.policies, nowMicros: Math.floor(this.clock.nowMs()) * MICROS_PER_MS };
  }

  private requireFamily(family: string): void {
    if (!this.schema.families.has(family)) {
      throw errors.notFound('column family does not exist', { table: this.schema.tableId, family });
    }
  }

  private async writeRow(rowKey: Buffer, mutations: readonly ValidMutation[]): Promise<void> {
    const batch = new WriteBatch();
    for (const m of mutations) this.addMutation(batch, rowKey, m);
    await this.commitBatch(batch);
  }

  /**
   * Writes `entries[i]` for each i of `indices`, in order, in batches of about
   * MUTATE_ROWS_BATCH_BYTES_TARGET; records each entry's failure in `outcomes[i]`.
   */
  private async writeEntries(
    entries: readonly RowMutations[],
    indices: readonly number[],
    outcomes: unknown[],
  ): Promise<void> {
    const commits: Promise<void>[] = [];
    let batch = new WriteBatch();
    let members: number[] = [];
    const commit = () => {
      if (members.length === 0) return;
      const failed = members;
      commits.push(
        this.commitBatch(batch).catch((err: unknown) => {
          for (const i of failed) outcomes[i] = err;
        }),
      );
      batch = new WriteBatch();
      members = [];
    };
    for (const i of indices) {
      const entry = entries[i] as RowMutations;
      try {
        for (const m of entry.mutations) if (m.kind !== 'deleteFromRow') this.requireFamily(m.family);
        for (const m of entry.mutations) this.addMutation(batch, entry.rowKey, m);
      } catch (err) {
        // Only reachable if the batch itself refused an operation: drop the entry's partial
        // operations by rebuilding the batch from the entries already in it.
        outcomes[i] = err;
        if (batch.count > 0) batch = this.rebuildBatch(entries, members);
        continue;
      }
      members.push(i);
      if (batch.byteSize >= MUTATE_ROWS_BATCH_BYTES_TARGET) commit();
    }
    commit();
    await Promise.all(commits);
  }

  private rebuildBatch(entries: readonly RowMutations[], members: readonly number[]): WriteBatch {
    const batch = new WriteBatch();
    for (const i of members) {
      const entry = entries[i] as RowMutations;
      for (const m of entry.mutations) this.addMutation(batch, entry.rowKey, m);
    }
    return batch;
  }

  private async commitBatch(batch: WriteBatch): Promise<void> {
    if (batch.count === 0) return;
    try {
      await this.engine.write(batch);
    } catch (err) {
      this.oracle.forgetReservation();
      throw err;
    }
  }

  private addMutation(batch: WriteBatch, rowKey: Buffer, m: ValidMutation): void {
    switch (m.kind) {
      case 'setCell': {
        this.requireFamily(m.family);
        const ts =
          m.timestampMicros === SERVER_TIMESTAMP_MICROS ? this.serverTimestamp(batch) : m.timestampMicros;
        batch.put(encodeCellKey(rowKey, m.family, m.qualifier, ts), m.value);
        return;
      }
      case 'deleteFromColumn': {
        this.requireFamily(m.family);
        const r = columnTimeKeyRange(rowKey, m.family, m.qualifier, m.startMicros, m.endMicros);
        if (r.end !== undefined && Buffer.compare(r.start, r.end) < 0) batch.deleteRange(r.start, r.end);
        return;
      }
      case 'deleteFromFamily': {
        this.requireFamily(m.family);
        const r = familyKeyRange(rowKey, m.family);
        batch.deleteRange(r.start, r.end as Buffer);
        return;
      }
      case 'deleteFromRow': {
        const r = rowKeyRange(rowKey);
        batch.deleteRange(r.start, r.end as Buffer);
        return;
      }
    }
  }

  private serverTimestamp(batch: WriteBatch): number {
    return this.oracle.next((reservedUntil) => {
      const v = Buffer.alloc(8);
      v.writeBigUInt64BE(BigInt(reservedUntil));
      batch.put(TIMESTAMP_RESERVATION_KEY, v);
    });
  }
}

function appendValue(current: Buffer | undefined, suffix: Buffer, index: number): Buffer {
  const size = (current?.length ?? 0) + suffix.length;
  if (size > CELL_VALUE_BYTES_MAX) {
    throw errors.failedPrecondition('appended value would exceed the value size limit', {
      field: `rules[${index}]`,
      bytes: size,
      bytesMax: CELL_VALUE_BYTES_MAX,
    });
  }
  return current ? Buffer.concat([current, suffix]) : Buffer.from(suffix);
}
