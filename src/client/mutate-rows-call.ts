/**
 * MutateRows of a remote client: the entries split by owner (tablet-router.ts; one request per
 * owner, all in flight at once, each entry keeping its own status), and the entries that failed
 * retryably and are idempotent sent again with bounded backoff under the retry policy's deadline.
 * Each attempt groups the remaining entries afresh, so a retry after a dead owner goes where the
 * refreshed locations say.
 *
 * A failure of a whole request fails its entries without a status — or rejects the call, on the
 * first attempt, when no entry of any request got a status and the error is not retryable (an
 * unknown table, say), as a one-request MutateRows does.
 *
 * Concurrency: one call's requests run concurrently; they write disjoint indices of `results`.
 */
import type { TabulaError } from '../common/errors.js';
import { ErrorCode, errors } from '../common/errors.js';
import type { PreparedEntry } from './backend.js';
import { routingMetadata } from './grpc-channel.js';
import { errorOfCall, errorOfStatus } from './grpc-errors.js';
import type { RetryPolicy } from './retry-policy.js';
import type { Route, TabletRouter } from './tablet-router.js';

interface EntryStatus {
  index?: string | number;
  status?: { code?: number; message?: string };
}

/** The outcome of one request: the indices it failed, and its whole-call error if nothing settled. */
interface GroupOutcome {
  readonly failed: number[];
  readonly unsettledError: TabulaError | undefined;
}

/** One MutateRows call over a router. */
export class MutateRowsCall {
  private readonly results: (TabulaError | undefined)[];

  constructor(
    private readonly router: TabletRouter,
    private readonly retry: RetryPolicy,
    private readonly tableId: string,
    private readonly tableName: string,
    private readonly entries: readonly PreparedEntry[],
  ) {
    this.results = new Array(entries.length).fill(undefined);
  }

  /** Runs the call: one outcome per entry (undefined: applied). */
  async run(): Promise<(TabulaError | undefined)[]> {
    let pending = this.entries.map((_, i) => i);
    const startMs = this.retry.effects.nowMs();
    for (let attempt = 1; ; attempt++) {
      const failed = await this.attempt(pending, attempt === 1);
      const again = failed.filter(
        (i) => this.results[i]?.retryable === true && this.entries[i]?.mutations.idempotent === true,
      );
      if (again.length === 0 || attempt >= this.retry.attemptsMax) return this.results;
      const wait = this.retry.backoffMs(attempt);
      if (this.retry.effects.nowMs() - startMs + wait >= this.retry.deadlineMs) return this.results;
      await this.retry.effects.sleep(wait);
      pending = again;
    }
  }

  /** Sends the entries `pending` once, grouped by owner; returns the indices that failed. */
  private async attempt(pending: readonly number[], first: boolean): Promise<number[]> {
    const keys = pending.map((i) => this.entries[i]?.rowKey as Buffer);
    const groups = await this.router.groupRows(this.tableId, keys, this.retry.deadlineMs);
    const outcomes = await Promise.all(
      groups.map((g) =>
        this.send(
          g.route,
          g.indices.map((k) => pending[k] as number),
        ),
      ),
    );
    const unsettled = outcomes.map((o) => o.unsettledError);
    const fatal = unsettled.find((e) => e !== undefined && !e.retryable);
    if (first && fatal !== undefined && unsettled.every((e) => e !== undefined)) throw fatal;
    return outcomes.flatMap((o) => o.failed);
  }

  /** One request of the entries `group` on `route` (released when done). */
  private async send(route: Route, group: readonly number[]): Promise<GroupOutcome> {
    const request = {
      tableName: this.tableName,
      entries: group.map((i) => ({
        rowKey: this.entries[i]?.rowKey,
        mutations: this.entries[i]?.mutations.proto,
      })),
    };
    const settled = new Set<number>();
    const failed: number[] = [];
    const record = (i: number, error: TabulaError | undefined) => {
      settled.add(i);
      this.results[i] = error;
      if (error !== undefined) failed.push(i);
    };
    try {
      const md = routingMetadata('table_name', this.tableName);
      const deadline = new Date(Date.now() + this.retry.deadlineMs);
      const { channel } = route;
      for (const res of await channel.collect(channel.data, 'MutateRows', request, md, deadline)) {
        for (const e of (res.entries as EntryStatus[] | undefined) ?? []) {
          const i = group[Number(e.index ?? 0)];
          if (i === undefined) continue;
          const code = e.status?.code ?? 0;
          record(i, code === 0 ? undefined : errorOfStatus(code, e.status?.message ?? ''));
        }
      }
    } catch (err) {
      const error = errorOfCall(err);
      route.release();
      this.router.noteFailure(this.tableId, route, error);
      const unsettledError = settled.size === 0 ? error : undefined;
      for (const i of group) if (!settled.has(i)) record(i, error);
      return { failed, unsettledError };
    } finally {
      route.release();
    }
    for (const i of group)
      if (!settled.has(i)) record(i, errors.internal('server sent no status for the entry'));
    const unavailable = failed.map((i) => this.results[i]).find((e) => e?.code === ErrorCode.Unavailable);
    if (unavailable !== undefined) this.router.noteFailure(this.tableId, route, unavailable);
    return { failed, unsettledError: undefined };
  }
}
