/**
 * Planning one change of the embedded driver: the effect of a list of txn operations on the
 * persisted state and the in-memory ephemeral keys, checked against the limits, as new values
 * (nothing is mutated, so a change that fails to persist leaves the old view in force).
 *
 * Ephemeral keys (put with a session) live in memory only, because a session cannot outlive the
 * process that holds the embedded store; but every change to them still takes a revision that is
 * persisted, so no revision is ever reused after a restart (no ABA through a lost ephemeral key).
 *
 * Concurrency: pure functions. Invariants: a key is either persisted or ephemeral, never both;
 * every planned event carries the change's single revision; a plan with no event changes nothing.
 */
import { errors } from '../../common/errors.js';
import { COORD_KEYS_MAX, COORD_STATE_BYTES_MAX } from '../../common/limits.js';
import type { TxnOp } from '../coordination.js';
import { type CoordinationState, entryDataBytes, type StoredValue } from './coordination-state.js';

/** An ephemeral key's value and the session it belongs to. */
export interface EphemeralValue extends StoredValue {
  readonly sessionId: string;
}

/** A change's effect on one key, for watchers and history. */
export interface KeyChange {
  readonly key: string;
  /** The new value (owned by the store), or `undefined` for a delete. */
  readonly value: Buffer | undefined;
}

/** The store as one change sees it. */
export interface EmbeddedView {
  readonly state: CoordinationState;
  readonly ephemeral: ReadonlyMap<string, EphemeralValue>;
}

/** The outcome of planning: the next view and the key changes, in operation order. */
export interface ChangePlan extends EmbeddedView {
  readonly changes: KeyChange[];
}

/** The current value of `key` in `view`, persisted or ephemeral. */
export function lookup(view: EmbeddedView, key: string): StoredValue | undefined {
  return view.state.entries.get(key) ?? view.ephemeral.get(key);
}

/**
 * Applies `ops` at `revision`. `sessionIdOf` names the session of a put's `session` (the caller
 * has checked it is valid). RESOURCE_EXHAUSTED past `COORD_KEYS_MAX` or `COORD_STATE_BYTES_MAX`.
 */
export function planChanges(
  view: EmbeddedView,
  ops: readonly TxnOp[],
  revision: number,
  sessionIdOf: (op: TxnOp & { type: 'put' }) => string | undefined,
): ChangePlan {
  const entries = new Map(view.state.entries);
  const ephemeral = new Map(view.ephemeral);
  let dataBytes = view.state.dataBytes;
  const changes: KeyChange[] = [];
  for (const op of ops) {
    const persisted = entries.get(op.key);
    if (persisted) dataBytes -= entryDataBytes(op.key, persisted.value);
    const existed = entries.delete(op.key) || ephemeral.delete(op.key);
    if (op.type === 'delete') {
      if (existed) changes.push({ key: op.key, value: undefined });
      continue;
    }
    if (!existed && entries.size + ephemeral.size >= COORD_KEYS_MAX) {
      throw errors.resourceExhausted('too many coordination keys', { key: op.key, max: COORD_KEYS_MAX });
    }
    const value = Buffer.from(op.value);
    const sessionId = sessionIdOf(op);
    if (sessionId === undefined) {
      entries.set(op.key, { value, version: revision });
      dataBytes += entryDataBytes(op.key, value);
    } else {
      ephemeral.set(op.key, { value, version: revision, sessionId });
    }
    changes.push({ key: op.key, value });
  }
  const totalBytes = dataBytes + ephemeralBytes(ephemeral);
  if (totalBytes > COORD_STATE_BYTES_MAX) {
    throw errors.resourceExhausted('coordination state is full', {
      bytes: totalBytes,
      max: COORD_STATE_BYTES_MAX,
    });
  }
  if (changes.length === 0) return { ...view, changes };
  return { state: { ...view.state, revision, entries, dataBytes }, ephemeral, changes };
}

function ephemeralBytes(ephemeral: ReadonlyMap<string, EphemeralValue>): number {
  let bytes = 0;
  for (const [key, entry] of ephemeral) bytes += entryDataBytes(key, entry.value);
  return bytes;
}

/** Delete operations for every ephemeral key of `sessionId`. */
export function sessionKeyDeletes(view: EmbeddedView, sessionId: string): TxnOp[] {
  const ops: TxnOp[] = [];
  for (const [key, entry] of view.ephemeral) {
    if (entry.sessionId === sessionId) ops.push({ type: 'delete', key });
  }
  return ops;
}
