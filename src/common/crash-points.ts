/**
 * Named crash points for fault-injection tests of real processes: a process started with
 * `TABULA_CRASH_POINT=<name>` kills itself (SIGKILL, as `kill -9` would) the first time it reaches
 * `crashPoint('<name>')`. Without the variable every call is a no-op. Tests use it to stop a
 * process exactly at a commit point of a multi-process protocol (a split between its preparation
 * and its catalog commit, say), where a kill from outside could only land there by chance.
 *
 * The names in use (src/cluster/tablet-splitter.ts, src/master/split-coordinator.ts):
 * `split-before-commit`, `split-after-commit` (the owner of a splitting tablet),
 * `commit-before-catalog`, `commit-after-catalog` (the master committing a split or merge).
 */

/** The crash point this process was started with, if any. */
const ARMED = process.env.TABULA_CRASH_POINT;

/** Kills this process with SIGKILL when it was started with `TABULA_CRASH_POINT=name`. */
export function crashPoint(name: string): void {
  if (ARMED !== name) return;
  process.kill(process.pid, 'SIGKILL');
}
