/**
 * Assertions for programmer errors. A failed assertion means the code itself is wrong, so it throws
 * an `AssertionError` that no caller is expected to handle: the process should crash rather than
 * carry on with a broken invariant. Never use `assert` to validate user input; return a
 * `TabulaError` with a precise code instead.
 */

/** Thrown when an internal invariant does not hold. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Asserts that `condition` holds; `message` says which invariant broke. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a branch that the type system proves unreachable. */
export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}

/**
 * Expensive invariant checks (full re-sorts, whole-structure scans) run only when this is on.
 * Tests turn it on with `TABULA_PARANOID=1`.
 */
export const PARANOID = process.env.TABULA_PARANOID === '1';
