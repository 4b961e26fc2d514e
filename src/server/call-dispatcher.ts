/**
 * Starts admitted calls fairly and in slices, so that one client's flood neither stalls the event
 * loop nor makes other clients wait behind it.
 *
 * Without it, every request that arrives in one poll of the sockets starts in that same turn of
 * the event loop, in arrival order: a client with 512 calls in flight puts 512 handlers ahead of a
 * well-behaved client's one, and the turn lasts as long as all of them (measured: single-row reads
 * of a well-behaved client p99 218 ms, 28× unloaded, and event-loop delay p99 ~100 ms, while
 * h2load flooded 8 connections × 64 streams).
 *
 * The dispatcher keeps one FIFO of waiting starts per connection and a ring of the connections
 * that have some, and takes them round-robin: one start from each connection in turn, while the
 * current turn of the event loop has used less than `turnBudgetMs` of starting work; the rest
 * waits for the next turn (`defer`, setImmediate by default), after the loop has polled the
 * sockets again. A call whose connection has nothing waiting starts at once, as it arrives, while
 * the turn's separate budget for such starts lasts: an unloaded server adds no latency, and a
 * light client is served at once even while a flooding one waits its turns.
 *
 * What it bounds is the synchronous part of starting a call (decode to the first await or
 * response); work a call does later (continuations after I/O, further response messages) is not
 * scheduled here. The waiting starts are bounded by the transport's calls-in-flight limit.
 *
 * Concurrency: single event-loop thread. Time comes from the injected `nowMs`.
 */

/** A call's start, and whether it is still wanted when its turn comes. */
export interface PendingStart {
  run(): void;
  /** False once the call ended while waiting (cancelled, deadline): it is dropped unstarted. */
  wanted(): boolean;
}

/** How the dispatcher measures time and yields to the event loop (injectable for tests). */
export interface DispatcherRuntime {
  nowMs(): number;
  defer(fn: () => void): void;
}

const defaultRuntime: DispatcherRuntime = {
  nowMs: () => performance.now(),
  defer: (fn) => setImmediate(fn),
};

/** Round-robin, time-sliced starting of calls, keyed by connection. */
export class CallDispatcher<K> {
  private readonly queues = new Map<K, PendingStart[]>();
  /** Connections with waiting starts, in round-robin order. */
  private ring: K[] = [];
  private ringIndex = 0;
  private waiting = 0;
  /** Starting work of this turn: queued starts, and starts at arrival. */
  private usedMs = 0;
  private arrivalUsedMs = 0;
  private turnScheduled = false;

  constructor(
    private readonly turnBudgetMs: number,
    private readonly runtime: DispatcherRuntime = defaultRuntime,
  ) {}

  /** Starts the call now if its connection has nothing waiting and budget is left, else queues it. */
  submit(key: K, start: PendingStart): void {
    if (!this.queues.has(key) && this.arrivalUsedMs < this.turnBudgetMs) {
      this.arrivalUsedMs += this.runTimed(start);
      this.scheduleTurn();
      return;
    }
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
      this.ring.push(key);
    }
    queue.push(start);
    this.waiting++;
    this.scheduleTurn();
  }

  /** Starts waiting for `key` (a connection that closed) are dropped; their calls end on their own. */
  forget(key: K): void {
    const queue = this.queues.get(key);
    if (queue === undefined) return;
    this.waiting -= queue.length;
    this.queues.delete(key);
    const at = this.ring.indexOf(key);
    this.ring.splice(at, 1);
    if (at < this.ringIndex) this.ringIndex--;
  }

  /** Starts waiting, over all connections. */
  waitingStarts(): number {
    return this.waiting;
  }

  /** Runs a wanted start; returns the time it took. */
  private runTimed(start: PendingStart): number {
    if (!start.wanted()) return 0;
    const t0 = this.runtime.nowMs();
    try {
      start.run();
    } catch {
      // A start answers its own call's errors; one that throws anyway must not stop the others.
    }
    return this.runtime.nowMs() - t0;
  }

  /** A new turn: the budget is fresh; waiting starts run round-robin until it is spent. */
  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.runtime.defer(() => {
      this.turnScheduled = false;
      this.usedMs = 0;
      this.arrivalUsedMs = 0;
      while (this.waiting > 0 && this.usedMs < this.turnBudgetMs)
        this.usedMs += this.runTimed(this.takeNext());
      if (this.waiting > 0) this.scheduleTurn();
    });
  }

  private takeNext(): PendingStart {
    if (this.ringIndex >= this.ring.length) this.ringIndex = 0;
    const key = this.ring[this.ringIndex] as K;
    const queue = this.queues.get(key) as PendingStart[];
    const start = queue.shift() as PendingStart;
    this.waiting--;
    if (queue.length === 0) {
      this.queues.delete(key);
      this.ring.splice(this.ringIndex, 1);
    } else {
      this.ringIndex++;
    }
    return start;
  }
}
