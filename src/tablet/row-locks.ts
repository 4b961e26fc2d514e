/**
 * Per-row ordering for atomic read-modify-write operations. Plain mutations of a row do not
 * exclude one another — the engine already applies them atomically and in call order, and they
 * share WAL syncs (group commit). CheckAndMutateRow and ReadModifyWriteRow run exclusively: each
 * waits until every earlier write to the row is durable and visible, reads, writes, and only then
 * lets later writes to the row start — so its read and write form one atomic step.
 *
 * Concurrency: the event loop. A row's state exists only while it has work in flight (bounded by
 * the requests in flight, which the server bounds).
 */
interface RowState {
  /** Resolves when the latest exclusive operation registered so far is done. */
  exclusiveTail: Promise<void>;
  /** Plain writes started and not yet settled. */
  readonly pending: Set<Promise<unknown>>;
  users: number;
}

export class RowLocks {
  private readonly rows = new Map<string, RowState>();

  /** Runs a plain write after any earlier exclusive operation on the row. */
  async write<T>(rowKey: Buffer, body: () => Promise<T>): Promise<T> {
    const [id, state] = this.enter(rowKey);
    try {
      await state.exclusiveTail;
      const p = body();
      state.pending.add(p);
      try {
        return await p;
      } finally {
        state.pending.delete(p);
      }
    } finally {
      this.leave(id, state);
    }
  }

  /** Runs `body` alone on the row: after every earlier write is settled, before any later one. */
  async exclusive<T>(rowKey: Buffer, body: () => Promise<T>): Promise<T> {
    const [id, state] = this.enter(rowKey);
    const previous = state.exclusiveTail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    state.exclusiveTail = previous.then(() => mine);
    try {
      await previous;
      await Promise.allSettled([...state.pending]);
      return await body();
    } finally {
      release();
      this.leave(id, state);
    }
  }

  private enter(rowKey: Buffer): [string, RowState] {
    const id = rowKey.toString('latin1');
    let state = this.rows.get(id);
    if (!state) {
      state = { exclusiveTail: Promise.resolve(), pending: new Set(), users: 0 };
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
