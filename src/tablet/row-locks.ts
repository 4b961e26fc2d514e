/**
 * Per-row mutual exclusion for read-modify-write operations. Every write to a row (plain mutations
 * included) runs under the row's lock, so CheckAndMutateRow and ReadModifyWriteRow read and write
 * a row as one atomic step with respect to every other write to it.
 *
 * Concurrency: the event loop; a lock is a promise chain per row key. Entries are removed when the
 * last waiter finishes, so the map holds only rows with work in flight (bounded by the requests in
 * flight, which the server bounds).
 */
export class RowLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `body` once every earlier holder of `rowKey` is done. */
  async withRow<T>(rowKey: Buffer, body: () => Promise<T>): Promise<T> {
    const id = rowKey.toString('latin1');
    const previous = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(id, tail);
    await previous;
    try {
      return await body();
    } finally {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }
}
