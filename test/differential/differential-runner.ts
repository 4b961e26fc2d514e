/**
 * Runs one seed's workload against the emulator (the reference) and a candidate server, in
 * lock-step: each operation goes to both servers at once and is compared before the next one is
 * sent, so both servers see the same sequence. Returns per-RPC counts, per-rule counts of
 * explained differences, and every unexplained difference (the first `REPORTED_DIFFERENCES_MAX`
 * in full).
 *
 * A `tamper` hook may alter candidate outcomes; the self-check uses it to prove that a wrong
 * answer is reported.
 */
import { SeededRand } from '../../src/common/clock.js';
import type { BigtableClient, Message, Outcome } from './bigtable-client.js';
import { compareOutcomes, type Verdict } from './comparison.js';
import { INSTANCE_NAME } from './key-space.js';
import { type OutcomeView, printable, viewOf } from './outcome-view.js';
import { GC_FAMILIES, type Operation, type SeedTables, seedTables, workload } from './workload.js';

/** Unexplained differences kept in full per run. */
export const REPORTED_DIFFERENCES_MAX = 20;
/** Longest string shown for one field of a reported difference. */
const SHOWN_CHARS_MAX = 160;

/** A server under test. */
export interface Endpoint {
  readonly label: string;
  readonly client: BigtableClient;
  readonly isEmulator: boolean;
}

/** One unexplained difference. */
export interface Difference {
  readonly seed: number;
  readonly index: number;
  readonly op: Operation;
  readonly emulator: OutcomeView;
  readonly candidate: OutcomeView;
}

/** What one run found. */
export interface RunReport {
  readonly seed: number;
  readonly operationsByRpc: Map<string, number>;
  readonly explainedByRule: Map<string, number>;
  readonly unexplained: Difference[];
  unexplainedCount: number;
}

/** Options of `runSeed`. */
export interface RunOptions {
  readonly seed: number;
  readonly operations: number;
  readonly emulator: Endpoint;
  readonly candidate: Endpoint;
  readonly tamper?: (op: Operation, view: OutcomeView, index: number) => OutcomeView;
  /** Observes every verdict (for debugging a rule). */
  readonly onVerdict?: (
    op: Operation,
    emulator: OutcomeView,
    candidate: OutcomeView,
    verdict: Verdict,
    index: number,
  ) => void;
}

const HOUR_SECONDS = '3600';
const DAY_SECONDS = '86400';

/** The CreateTable/ModifyColumnFamilies requests that set up one seed's tables. */
function setupRequests(
  tables: SeedTables,
): { rpc: 'createTable' | 'modifyColumnFamilies'; request: Message }[] {
  const id = (name: string) => name.slice(name.lastIndexOf('/') + 1);
  const maxAge = (seconds: string) => ({ maxAge: { seconds } });
  const main = {
    a: {},
    b: { gcRule: maxAge(DAY_SECONDS) },
    ['__proto__']: { gcRule: { intersection: { rules: [{ maxNumVersions: 1 }, maxAge(DAY_SECONDS)] } } },
  };
  const gcModifications = [
    { id: GC_FAMILIES[1], create: { gcRule: maxAge(HOUR_SECONDS) } },
    {
      id: GC_FAMILIES[2],
      create: { gcRule: { union: { rules: [{ maxNumVersions: 1 }, maxAge(HOUR_SECONDS)] } } },
    },
    {
      id: GC_FAMILIES[3],
      create: { gcRule: { intersection: { rules: [{ maxNumVersions: 1 }, maxAge(HOUR_SECONDS)] } } },
    },
  ];
  const table = (columnFamilies: object) => ({ columnFamilies });
  return [
    {
      rpc: 'createTable',
      request: { parent: INSTANCE_NAME, tableId: id(tables.main), table: table(familyMap(main)) },
    },
    {
      rpc: 'createTable',
      request: {
        parent: INSTANCE_NAME,
        tableId: id(tables.scratch),
        table: table(familyMap({ a: {}, b: {} })),
      },
    },
    {
      rpc: 'createTable',
      request: {
        parent: INSTANCE_NAME,
        tableId: id(tables.gc),
        table: table(familyMap({ gv: { gcRule: { maxNumVersions: 2 } } })),
      },
    },
    // ModifyColumnFamilies also starts the emulator's GC loop.
    { rpc: 'modifyColumnFamilies', request: { name: tables.gc, modifications: gcModifications } },
  ];
}

/** A plain object of families that may include `__proto__` as an own key. */
function familyMap(families: Record<string, object>): Record<string, object> {
  const out: Record<string, object> = Object.create(null);
  for (const [name, family] of Object.entries(families))
    Object.defineProperty(out, name, { value: family, enumerable: true });
  return out;
}

async function setUp(endpoint: Endpoint, tables: SeedTables): Promise<void> {
  for (const { rpc, request } of setupRequests(tables)) {
    const outcome = await endpoint.client[rpc](request);
    if (!outcome.ok)
      throw new Error(
        `${endpoint.label}: ${rpc} ${JSON.stringify(request.tableId ?? request.name)} failed: ${outcome.code}`,
      );
  }
}

async function execute(client: BigtableClient, op: Operation): Promise<OutcomeView> {
  const call: Record<Operation['rpc'], (r: Message) => Promise<Outcome<unknown>>> = {
    MutateRow: (r) => client.mutateRow(r),
    MutateRows: (r) => client.mutateRows(r),
    CheckAndMutateRow: (r) => client.checkAndMutateRow(r),
    ReadModifyWriteRow: (r) => client.readModifyWriteRow(r),
    ReadRows: (r) => client.readRows(r),
    SampleRowKeys: (r) => client.sampleRowKeys(r),
  };
  return viewOf(op.rpc, await call[op.rpc](op.request));
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Runs one seed; never throws for differences (they are in the report). */
export async function runSeed(options: RunOptions): Promise<RunReport> {
  const { seed, emulator, candidate } = options;
  const tables = seedTables(seed);
  await setUp(emulator, tables);
  await setUp(candidate, tables);
  const report: RunReport = {
    seed,
    operationsByRpc: new Map(),
    explainedByRule: new Map(),
    unexplained: [],
    unexplainedCount: 0,
  };
  let index = 0;
  for (const step of workload(new SeededRand(seed), tables, options.operations)) {
    if (step.rpc === 'Settle') {
      await new Promise((resolve) => setTimeout(resolve, step.ms));
      continue;
    }
    const [e, c] = await Promise.all([execute(emulator.client, step), execute(candidate.client, step)]);
    const candidateView = options.tamper ? options.tamper(step, c, index) : c;
    bump(report.operationsByRpc, step.rpc);
    const verdict = compareOutcomes(step, e, candidateView, candidate.isEmulator);
    options.onVerdict?.(step, e, candidateView, verdict, index);
    if (verdict.kind === 'explained') for (const rule of verdict.rules) bump(report.explainedByRule, rule);
    if (verdict.kind === 'unexplained') {
      report.unexplainedCount++;
      if (report.unexplained.length < REPORTED_DIFFERENCES_MAX) {
        report.unexplained.push({
          seed,
          index,
          op: step,
          emulator: verdict.emulator,
          candidate: verdict.candidate,
        });
      }
    }
    index++;
  }
  return report;
}

function shorten(text: string): string {
  return text.length <= SHOWN_CHARS_MAX ? text : `${text.slice(0, SHOWN_CHARS_MAX)}…(${text.length} chars)`;
}

/** A request as readable JSON: bytes as printable strings. */
export function describeRequest(request: Message): string {
  return JSON.stringify(request, (_k, v) => {
    if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data))
      return `b'${shorten(printable(Buffer.from(v.data)))}'`;
    if (typeof v === 'string') return shorten(v);
    return v;
  });
}

/** The first row where two views differ, as text lines (rows are shown whole, fields shortened). */
function firstDivergence(e: OutcomeView, c: OutcomeView): string[] {
  const view = (v: unknown) =>
    shorten(JSON.stringify(v, (_k, x) => (typeof x === 'string' ? shorten(x) : x)));
  if (e.rows === undefined || c.rows === undefined || e.code !== c.code) {
    return [`  emulator:  ${view(e)}`, `  candidate: ${view(c)}`];
  }
  const rowCount = Math.max(e.rows.length, c.rows.length);
  for (let i = 0; i < rowCount; i++) {
    const er = e.rows[i];
    const cr = c.rows[i];
    if (JSON.stringify(er) === JSON.stringify(cr)) continue;
    const cells = (r: typeof er) =>
      r === undefined
        ? 'no row'
        : `${r.key}: ${r.cells.map((x) => `${x.family}:${shorten(x.qualifier)}@${x.timestamp}=${shorten(x.value)}${x.labels.length ? `[${x.labels}]` : ''}`).join(' ')}`;
    return [
      `  rows: emulator ${e.rows.length}, candidate ${c.rows.length}; first difference at row ${i}`,
      `  emulator:  ${cells(er)}`,
      `  candidate: ${cells(cr)}`,
    ];
  }
  return [`  emulator:  ${view(e)}`, `  candidate: ${view(c)}`];
}

/** A difference as text: where, the request, and both outcomes (from the first differing row). */
export function describeDifference(d: Difference): string {
  return [
    `seed=${d.seed} op#${d.index} ${d.op.rpc} (${d.op.tag})`,
    `  request:   ${describeRequest(d.op.request)}`,
    ...firstDivergence(d.emulator, d.candidate),
  ].join('\n');
}

/** Differences a failed assertion spells out (the full list is printed above it). */
const FAILURE_MESSAGE_DIFFERENCES_MAX = 3;

/**
 * The message of a failed differential assertion: the count, the seeds to replay the run with, and
 * the first differences in full, so a log that keeps only the failure still shows what differed.
 */
export function failureMessage(reports: readonly RunReport[], seeds: readonly number[]): string {
  const count = reports.reduce((n, r) => n + r.unexplainedCount, 0);
  const shown = reports.flatMap((r) => r.unexplained).slice(0, FAILURE_MESSAGE_DIFFERENCES_MAX);
  return [
    `${count} unexplained differences (replay with TABULA_SEEDS=${seeds.join(',')})`,
    ...shown.map(describeDifference),
  ].join('\n');
}

/** Sums reports into totals per RPC and per rule. */
export function summarize(reports: readonly RunReport[]): {
  byRpc: Map<string, number>;
  byRule: Map<string, number>;
  unexplained: number;
} {
  const byRpc = new Map<string, number>();
  const byRule = new Map<string, number>();
  let unexplained = 0;
  for (const r of reports) {
    for (const [k, v] of r.operationsByRpc) byRpc.set(k, (byRpc.get(k) ?? 0) + v);
    for (const [k, v] of r.explainedByRule) byRule.set(k, (byRule.get(k) ?? 0) + v);
    unexplained += r.unexplainedCount;
  }
  return { byRpc, byRule, unexplained };
}
