/**
 * Table gates: a tablet server about to prepare a split or merge of a table takes the table's gate
 * at the master (`AcquireTableGate`, src/cluster/master-control-protocol.ts). A gate is a turn of
 * the metadata service's admin chain held across RPCs: schema changes, the fan-outs of
 * DropRowRange and family purges, the shared-file GC and other commits wait while it is out. So a
 * fan-out never meets a tablet paused by a split whose commit would wait behind that very fan-out
 * (each would wait for the other until the fan-out's retries ran out).
 *
 * A gate ends when the commit that names it has run inside it, when the server releases it (the
 * change was abandoned), or after CLUSTER_TABLE_GATE_LEASE_MS (a server that died or lost the
 * answer cannot hold the chain). A request whose turn comes after its caller's deadline passed
 * is not granted (nobody would use it). A commit naming a gate that is no longer held (expired, or
 * granted by a previous master) simply queues on the chain.
 *
 * Concurrency: single event-loop thread.
 */
import type { Clock } from '../common/clock.js';
import { errors } from '../common/errors.js';
import * as limits from '../common/limits.js';
import type { Logger } from '../common/logger.js';
import type { CoordinationTimers } from '../coord/coordination-timers.js';
import type { MetadataCommits } from '../tablet/tablet-host-api.js';

interface Gate {
  readonly tableId: string;
  readonly server: string;
  readonly end: () => void;
}

/** The table gates of one master (see the file comment). */
export class TableGates {
  private readonly gates = new Map<string, Gate>();
  private sequence = 0;

  constructor(
    private readonly chain: Pick<MetadataCommits, 'serialized'>,
    private readonly clock: Clock,
    private readonly timers: CoordinationTimers,
    private readonly log: Logger,
  ) {}

  /** Takes the chain for a change of `tableId` by `server`; resolves with the gate's id. */
  acquire(tableId: string, server: string): Promise<string> {
    const askedAtMs = this.clock.monotonicMs();
    return new Promise<string>((granted, refused) => {
      const held = this.chain.serialized(
        () =>
          new Promise<void>((end) => {
            if (this.clock.monotonicMs() - askedAtMs > limits.CLUSTER_TABLE_GATE_DEADLINE_MS) {
              end();
              refused(errors.unavailable('the table gate came too late', { table: tableId }));
              return;
            }
            const gateId = `g${++this.sequence}`;
            const cancel = this.timers.setTimer(limits.CLUSTER_TABLE_GATE_LEASE_MS, () => {
              if (this.gates.delete(gateId)) this.log.warn({ table: tableId, server }, 'table gate expired');
              end();
            });
            this.gates.set(gateId, {
              tableId,
              server,
              end: () => {
                cancel();
                this.gates.delete(gateId);
                end();
              },
            });
            granted(gateId);
          }),
      );
      held.catch(refused);
    });
  }

  /** Ends gate `gateId` if it is held. */
  release(gateId: string): void {
    this.gates.get(gateId)?.end();
  }

  /**
   * Runs `op` inside gate `gateId` when it is held for `tableId` and `server` (and ends the gate
   * after), else on the admin chain.
   */
  async run<T>(
    gateId: string | undefined,
    tableId: string,
    server: string,
    op: () => Promise<T>,
  ): Promise<T> {
    const gate = gateId === undefined ? undefined : this.gates.get(gateId);
    if (!gate || gate.tableId !== tableId || gate.server !== server) return this.chain.serialized(op);
    try {
      return await op();
    } finally {
      gate.end();
    }
  }
}
