/**
 * Validation of `txn` requests, shared by every driver so each rejects the same request with the
 * same code (INVALID_ARGUMENT), before anything is sent or queued.
 *
 * Concurrency: pure functions. Invariants: an accepted txn has at most `COORD_TXN_OPS_MAX` compares
 * plus operations per branch, well-formed keys and values, and touches no key twice in one branch.
 */
import { errors } from '../common/errors.js';
import { COORD_TXN_OPS_MAX } from '../common/limits.js';
import type { TxnOp, TxnRequest } from './coordination.js';
import { checkExpectedVersion, checkKey, checkValue } from './coordination-input.js';

/** Checks a whole txn request. */
export function checkTxnRequest(request: TxnRequest): void {
  if (typeof request !== 'object' || request === null) {
    throw errors.invalidArgument('coordination txn is not an object');
  }
  const { compares, success, failure = [] } = request;
  if (!Array.isArray(compares) || !Array.isArray(success) || !Array.isArray(failure)) {
    throw errors.invalidArgument('coordination txn compares, success and failure must be arrays');
  }
  const size = compares.length + Math.max(success.length, failure.length);
  if (size > COORD_TXN_OPS_MAX) {
    throw errors.invalidArgument('coordination txn has too many compares and operations', {
      count: size,
      max: COORD_TXN_OPS_MAX,
    });
  }
  for (const compare of compares) {
    checkKey(compare.key);
    checkExpectedVersion(compare.key, compare.version);
    if (compare.version === undefined) {
      throw errors.invalidArgument('coordination txn compare has no version', { key: compare.key });
    }
  }
  checkOps(success);
  checkOps(failure);
}

function checkOps(ops: readonly TxnOp[]): void {
  const seen = new Set<string>();
  for (const op of ops) {
    checkKey(op.key);
    if (op.type === 'put') checkValue(op.key, op.value);
    else if (op.type !== 'delete') {
      throw errors.invalidArgument('coordination txn operation type is unknown', {
        key: (op as { key: string }).key,
        type: String((op as { type: unknown }).type),
      });
    }
    if (seen.has(op.key)) {
      throw errors.invalidArgument('coordination txn touches a key twice', { key: op.key });
    }
    seen.add(op.key);
  }
}
