/**
 * Planned moves measured from outside, for test/cluster/cluster-balance.test.ts and
 * bench/cluster-bench.ts: a table of MOVE_TABLETS tablets (tablet i holds the rows starting
 * `rNN`), writers spread over every tablet journaling acknowledged writes, and planned moves
 * requested through their `cluster/move/…` keys, each timed by a probe writing the moving tablet's
 * rows back to back: the unavailability a client sees is the longest gap between two of the
 * probe's acknowledgements, from the last one before the request to the PROBE_ACKS_AFTER-th after
 * the new owner reported the tablet loaded (one write's latency more than the outage itself).
 */
import assert from 'node:assert/strict';
import type { Client } from '@grpc/grpc-js';
import {
  ASSIGN_PREFIX,
  type Assignment,
  assignKey,
  decodeAssignment,
  decodeValue,
  encodeValue,
  type LoadedTablet,
  loadedKey,
  moveKey,
} from '../../src/cluster/cluster-keys.js';
import { createLoadTable, sleep, writeOnce } from './cluster-load.js';
import type { ClusterProcess, LocalCluster } from './cluster-processes.js';

/** Tablets of the moves table. */
export const MOVE_TABLETS = 24;
/** Longest one planned move may take to complete. */
const MOVE_WAIT_MS_MAX = 15_000;
/** Acknowledgements the probe collects after a move completes, to close its window. */
const PROBE_ACKS_AFTER = 5;
const POLL_MS = 5;
/** Pause of a writer after a failed write; the probe retries after 1 ms. */
const WRITER_RETRY_MS = 20;

/** Tablet i's row prefix, `rNN`. */
export const rowPrefix = (i: number) => `r${String(i).padStart(2, '0')}`;

/** What the moves need: the cluster, a client of its entry server, the ack journal. */
export interface MoveContext {
  readonly cluster: LocalCluster;
  readonly client: Client;
  readonly acked: Map<string, string>;
}

/** One measured move. */
export interface MeasuredMove {
  readonly tablet: string;
  readonly epochBefore: number;
  readonly epochAfter: number;
  /** Longest gap between two acknowledgements of the probe across the hand-over, ms. */
  readonly unavailableMs: number;
}

/** Creates LOAD_TABLE with MOVE_TABLETS tablets through `entry`. */
export function createMoveTable(entry: ClusterProcess): Promise<void> {
  return createLoadTable(
    entry,
    Array.from({ length: MOVE_TABLETS - 1 }, (_, i) => rowPrefix(i + 1)),
  );
}

/** `count` writers of new rows over every tablet until `stop.done`, retrying UNAVAILABLE. */
export function startMoveWriters(ctx: MoveContext, count: number, stop: { done: boolean }): Promise<unknown> {
  const run = async (w: number) => {
    for (let c = 0; !stop.done; c++) {
      const row = `${rowPrefix((w * 7 + c) % MOVE_TABLETS)}-w${w}-${String(c).padStart(5, '0')}`;
      for (;;) {
        const code = await writeOnce(ctx.client, row, `v${w}-${c}`);
        if (code === '') {
          ctx.acked.set(row, `v${w}-${c}`);
          break;
        }
        if (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED')
          throw new Error(`write failed with ${code}`);
        if (stop.done) return;
        await sleep(WRITER_RETRY_MS);
      }
    }
  };
  return Promise.all(Array.from({ length: count }, (_, w) => run(w)));
}

/** Every assignment, from the keys. */
export async function assignments(cluster: LocalCluster): Promise<Assignment[]> {
  return (await cluster.coord.list(ASSIGN_PREFIX)).map((e) => decodeAssignment(e.key, e.value));
}

const indexOf = (a: Assignment) => Number((a.tablet.startRow?.toString() ?? rowPrefix(0)).slice(1));

/** Writes rows of tablet `i` back to back until `until.done`, pushing each acknowledgement's time. */
async function probe(ctx: MoveContext, i: number, until: { done: boolean }, acks: number[]): Promise<void> {
  for (let n = 0; !until.done; n++) {
    const row = `${rowPrefix(i)}-probe-${n}`;
    const code = await writeOnce(ctx.client, row, 'p');
    if (code === '') {
      acks.push(performance.now());
      ctx.acked.set(row, 'p');
    } else if (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED')
      throw new Error(`probe failed with ${code}`);
    else await sleep(1);
  }
}

/** Waits until the tablet is served by `to` under an epoch above `epoch`; returns the new epoch. */
export async function movedTo(cluster: LocalCluster, a: Assignment, to: string): Promise<number> {
  const [key, loaded] = [assignKey(a.tablet), loadedKey(a.tablet)];
  const startedMs = performance.now();
  while (performance.now() - startedMs < MOVE_WAIT_MS_MAX) {
    const [found, l] = await Promise.all([cluster.coord.get(key), cluster.coord.get(loaded)]);
    const now = found && decodeAssignment(key, found.value);
    const rep = l && decodeValue<LoadedTablet>(loaded, l.value);
    if (now?.server === to && now.moveTo === undefined && now.ownerEpoch > a.ownerEpoch)
      if (rep?.server === to && rep.ownerEpoch === now.ownerEpoch && !rep.released) return now.ownerEpoch;
    await sleep(POLL_MS);
  }
  throw new Error(`tablet ${key} did not move to ${to}\n${await cluster.describe()}`);
}

/** One planned move of tablet `a` to server `to`, measured. */
async function plannedMove(ctx: MoveContext, a: Assignment, to: string): Promise<MeasuredMove> {
  const until = { done: false };
  const acks: number[] = [];
  const probing = probe(ctx, indexOf(a), until, acks);
  await sleep(30);
  const requestedMs = performance.now();
  await ctx.cluster.coord.put(moveKey(a.tablet), encodeValue({ to }));
  const epochAfter = await movedTo(ctx.cluster, a, to);
  const doneMs = performance.now();
  const after = () => acks.filter((t) => t > doneMs).length;
  while (after() < PROBE_ACKS_AFTER && performance.now() - doneMs < MOVE_WAIT_MS_MAX) await sleep(POLL_MS);
  until.done = true;
  await probing;
  assert.ok(after() >= PROBE_ACKS_AFTER, `the probe of ${a.tablet.tabletDir} wrote after the move`);
  const window = acks.filter((t) => t >= (acks.filter((x) => x < requestedMs).at(-1) ?? requestedMs));
  const last = window.findIndex((t) => t > doneMs) + PROBE_ACKS_AFTER;
  let gap = 0;
  for (let k = 1; k < Math.min(window.length, last); k++)
    gap = Math.max(gap, (window[k] as number) - (window[k - 1] as number));
  return { tablet: a.tablet.tabletDir, epochBefore: a.ownerEpoch, epochAfter, unavailableMs: gap };
}

/**
 * The first move of a swap takes tablet 5m mod n to the server with the fewest tablets; the second
 * takes another tablet of that server back where the first came from, so the cluster ends each pair
 * as even as it began (the balancer has nothing to undo).
 */
function pickMove(
  ctx: MoveContext,
  all: readonly Assignment[],
  m: number,
  last: { from: string; to: string; i: number } | undefined,
): { a: Assignment; to: string } {
  if (last) {
    const a = all.find((x) => x.server === last.to && indexOf(x) !== last.i) as Assignment;
    return { a, to: last.from };
  }
  const a = all.find((x) => indexOf(x) === (m * 5) % MOVE_TABLETS) as Assignment;
  const counts = new Map(ctx.cluster.servers.map((s) => [s.serverId, 0]));
  for (const x of all) counts.set(x.server, (counts.get(x.server) ?? 0) + 1);
  const to = [...counts].filter(([s]) => s !== a.server).sort((x, y) => x[1] - y[1])[0]?.[0] as string;
  return { a, to };
}

/** `count` planned moves in swaps, one at a time, each after moves under way have ended. */
export async function measurePlannedMoves(
  ctx: MoveContext,
  count: number,
  onMove: (m: number, move: MeasuredMove) => void,
): Promise<MeasuredMove[]> {
  const out: MeasuredMove[] = [];
  let last: { from: string; to: string; i: number } | undefined;
  for (let m = 0; m < count; m++) {
    let all = await assignments(ctx.cluster);
    while (all.some((a) => a.moveTo !== undefined)) {
      await sleep(50);
      all = await assignments(ctx.cluster);
    }
    const { a, to } = pickMove(ctx, all, m, last);
    last = last ? undefined : { from: a.server, to, i: indexOf(a) };
    const move = await plannedMove(ctx, a, to);
    out.push(move);
    onMove(m, move);
  }
  return out;
}
