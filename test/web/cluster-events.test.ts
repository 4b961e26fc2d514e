/**
 * The cluster event log (src/web/cluster-events.ts) against a stand-in cluster view changed by
 * hand: the first state is a baseline; later servers joining and leaving, tablets assigned, moved
 * (old server still registered), failed over (old server gone) and unassigned are told apart and
 * counted; the log keeps at most CLUSTER_CONSOLE_EVENTS_MAX events, newest first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Assignment, ServerInfo } from '../../src/cluster/cluster-keys.js';
import type { ClusterView } from '../../src/cluster/cluster-view.js';
import type { Clock } from '../../src/common/clock.js';
import { CLUSTER_CONSOLE_EVENTS_MAX } from '../../src/common/limits.js';
import { ClusterEventLog } from '../../src/web/cluster-events.js';

/** The parts of a ClusterView the log reads, changed by the test. */
class FakeView {
  readonly servers = new Map<string, ServerInfo>();
  readonly assignments = new Map<string, Map<string, Assignment>>();
  revision = 1;
  private listener: () => void = () => undefined;

  onChange(listener: () => void): () => void {
    this.listener = listener;
    return () => undefined;
  }

  change(edit: () => void): void {
    edit();
    this.revision++;
    this.listener();
  }

  join(id: string): void {
    this.servers.set(id, { id, address: `${id}:1`, peerAddress: `${id}:2` });
  }

  assign(tabletDir: string, server: string, ownerEpoch: number): void {
    const table = this.assignments.get('t') ?? new Map<string, Assignment>();
    table.set(tabletDir, {
      server,
      ownerEpoch,
      tablet: {
        tableId: 't',
        tabletDir,
        startRow: undefined,
        endRow: undefined,
        timestampFloorMicros: 0,
        sources: [],
      },
    });
    this.assignments.set('t', table);
  }
}

const clock: Clock = { nowMs: () => 1_000, monotonicMs: () => 0 };

function setup(): { view: FakeView; log: ClusterEventLog } {
  const view = new FakeView();
  view.join('a');
  view.assign('d1', 'a', 5);
  return { view, log: new ClusterEventLog(view as unknown as ClusterView, clock) };
}

test('the first state is a baseline; later changes are told apart', () => {
  const { view, log } = setup();
  assert.deepEqual(log.events(), []);
  view.change(() => view.join('b'));
  view.change(() => view.assign('d2', 'b', 7));
  view.change(() => view.assign('d1', 'b', 8)); // a still registered: a move
  view.change(() => view.servers.delete('b'));
  view.change(() => {
    view.assign('d1', 'a', 9); // b gone: failovers
    view.assign('d2', 'a', 9);
  });
  view.change(() => view.assignments.get('t')?.delete('d2'));
  assert.deepEqual(
    log
      .events()
      .map((e) => [e.kind, e.server, e.fromServer ?? '', e.tabletDir ?? '', e.ownerEpoch ?? 0])
      .reverse(),
    [
      ['server_joined', 'b', '', '', 0],
      ['tablet_assigned', 'b', '', 'd2', 7],
      ['tablet_moved', 'b', 'a', 'd1', 8],
      ['server_left', 'b', '', '', 0],
      ['tablet_failed_over', 'a', 'b', 'd1', 9],
      ['tablet_failed_over', 'a', 'b', 'd2', 9],
      ['tablet_unassigned', 'a', '', 'd2', 9],
    ],
  );
  assert.equal(log.totals().get('tablet_failed_over'), 2);
  assert.equal(log.totals().get('tablet_moved'), 1);
  assert.equal(log.events()[0]?.timeMs, 1_000);
});

test('a new owner epoch on the same server is an assignment; the log is bounded', () => {
  const { view, log } = setup();
  for (let i = 0; i < CLUSTER_CONSOLE_EVENTS_MAX + 10; i++) view.change(() => view.assign('d1', 'a', 10 + i));
  assert.equal(log.events().length, CLUSTER_CONSOLE_EVENTS_MAX);
  assert.equal(log.events()[0]?.ownerEpoch, 10 + CLUSTER_CONSOLE_EVENTS_MAX + 9, 'newest first');
  assert.equal(log.totals().get('tablet_assigned'), CLUSTER_CONSOLE_EVENTS_MAX + 10);
});
