/**
 * Per-row ordering for atomic read-modify-write operations. Plain mutations of a row do not
 * exclude one another — the engine already applies them atomically and in call order, and they
 * share WAL syncs (group commit). CheckAndMutateRow and ReadModifyWriteRow run exclusively: each
 * waits until every earlier write to the row is durable and visible, reads, writes, and only then
 * lets later writes to the row start — so its read and write form one atomic step.
 *
 * A plain write to a row with no exclusive operation registered starts synchronously (its batch is
 * handed to the engine in call order); one behind an exclusive operation waits for it. A write may
 * cover many rows at once (`writeMany`, one engine batch for a MutateRows request): it waits for the
 * exclusive operations of all its rows, and every later exclusive operation on any of them waits
 * for it.
 *
 * Concurrency: the event loop. A row's state exists only while it has work in flight (bounded by
 * the requests in flight, which the server bounds).
 */
interface RowState {
  /** Resolves when the latest exclusive operation registered so far is done. */
  exclusiveTail: Promise<void>;
  /** Exclusive operations registered and not yet done (0: `exclusiveTail` has resolved). */
  exclusives: number;
  /** Plain writes started and not yet settled. */
  readonly pending: Set<Promise<unknown>>;
  users: number;
}

export class RowLocks {
  private readonly rows = new Map<string, RowState>();

  /** Runs a plain write after any earlier exclusive operation on the row. */
  write<T>(rowKey: Buffer, body: () => Promise<T>): Promise<T> {
    return this.writeMany([rowKey], body);
  }

  /**
   * Runs one plain write covering `rowKeys` (duplicates allowed) after every earlier exclusive
   * operation on any of them. Starts `body` synchronously when none of the rows has one.
   */
  async writeMany<T>(rowKeys: readonly Buffer[], body: () => Promise<T>): Promise<T> {
    const entered: [string, RowState][] = [];
    const seen = new Set<string>();
    let blockers: Promise<void>[] | undefined;
    for (const rowKey of rowKeys) {
      const id = rowKey.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      const [, state] = this.enter(id);
      entered.push([id, state]);
      if (state.exclusives > 0) (blockers ??= []).push(state.exclusiveTail);
    }
    try {
      if (blockers !== undefined) await Promise.all(blockers);
      const p = body();
      for (const [, state] of entered) state.pending.add(p);
      try {
        return await p;
      } finally {
        for (const [, state] of entered) state.pending.delete(p);
      }
    } finally {
      for (const [id, state] of entered) this.leave(id, state);
    }
  }

  /** Whether an exclusive operation is registered on the row (a plain write would wait for it). */
  hasExclusive(rowKey: Buffer): boolean {
    return (this.rows.get(rowKey.toString('latin1'))?.exclusives ?? 0) > 0;
  }

  /** Runs `body` alone on the row: after every earlier write is settled, before any later one. */
  async exclusive<T>(rowKey: Buffer, body: () => Promise<T>): Promise<T> {
    const [id, state] = this.enter(rowKey.toString('latin1'));
    const previous = state.exclusiveTail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    state.exclusiveTail = previous.then(() => mine);
    state.exclusives++;
    try {
      await previous;
      await Promise.allSettled([...state.pending]);
      return await body();
    } finally {
      state.exclusives--;
      release();
      this.leave(id, state);
    }
  }

  private enter(id: string): [string, RowState] {
    let state = this.rows.get(id);
    if (!state) {
      state = { exclusiveTail: Promise.resolve(), exclusives: 0, pending: new Set(), users: 0 };
      this.rows.set(id, state);
    }
    state.users++;
    return [id, state];
  }

  private leave(id: string, state: RowState): void {
    state.users--;
    if (state.users === 0 && this.rows.get(id) === state) this.rows.delete(id);
  }
}
