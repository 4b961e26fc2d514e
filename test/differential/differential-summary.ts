/**
 * Prints the totals of differential runs: operations per RPC and explained differences per
 * intended-difference rule (every rule is listed, with 0 when it never fired).
 */
import { type RunReport, summarize } from './differential-runner.js';
import { ALL_RULE_IDS } from './intended-differences.js';

/** Prints the summary of `reports` through `print`. */
export function printSummary(
  title: string,
  reports: readonly RunReport[],
  print: (line: string) => void,
): void {
  const { byRpc, byRule, unexplained } = summarize(reports);
  const total = [...byRpc.values()].reduce((a, b) => a + b, 0);
  print(
    `${title}: ${total} operations over ${reports.length} seed(s), ${unexplained} unexplained differences`,
  );
  print('  operations per RPC:');
  for (const [rpc, n] of [...byRpc].sort()) print(`    ${rpc.padEnd(20)} ${n}`);
  print('  explained differences per rule:');
  for (const id of ALL_RULE_IDS) print(`    ${id.padEnd(44)} ${byRule.get(id) ?? 0}`);
}
