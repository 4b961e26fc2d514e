/**
 * The console's clock tick: once every SAMPLE_INTERVAL_MS it turns the RPC observer's window into
 * rates and latency percentiles, reads the event-loop delay and the process's memory, and works
 * out each table's request rate; it keeps the last CONSOLE_HISTORY_POINTS_MAX points so that a
 * page opened now draws its charts at once, and hands each new point to its listeners.
 *
 * Ownership: one sampler per console, on the event loop; its timer is unref'd so it never keeps
 * the process alive. `stop()` clears the timer and the event-loop monitor.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { CONSOLE_HISTORY_POINTS_MAX } from '../common/limits.js';
import type { RpcObserver } from '../server/observability.js';

export { CONSOLE_HISTORY_POINTS_MAX };

/** How often the console samples, in ms. */
export const SAMPLE_INTERVAL_MS = 1000;
/** Resolution of the event-loop delay monitor, in ms. */
const EVENT_LOOP_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;
const MS_PER_SECOND = 1000;
const P50 = 0.5;
const P99 = 0.99;

/** One point of the live charts. */
export interface LivePoint {
  /** Sample time, in seconds since the epoch (uPlot's x unit). */
  readonly timeSeconds: number;
  readonly opsPerSecond: number;
  readonly errorsPerSecond: number;
  readonly rowsReadPerSecond: number;
  readonly rowsWrittenPerSecond: number;
  /** Latency percentiles of the calls in the interval, in ms (0 when there were none). */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Largest event-loop delay in the interval, and its 99th percentile, in ms. */
  readonly eventLoopLagMaxMs: number;
  readonly eventLoopLagP99Ms: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const at = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
  return sorted[at] as number;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Samples the live figures of a server. */
export class LiveSampler {
  private readonly history: LivePoint[] = [];
  private readonly listeners = new Set<(point: LivePoint) => void>();
  private readonly lag: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private lastMs: number;
  private lastTableCalls = new Map<string, number>();
  private tableRates = new Map<string, number>();

  constructor(
    private readonly observer: RpcObserver,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.lastMs = nowMs();
    this.lag = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.lag.enable();
    this.observer.takeWindow();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  /** The points kept, oldest first. */
  points(): readonly LivePoint[] {
    return this.history;
  }

  /** Successful calls per second naming `tableId`, over the last interval. */
  tableRate(tableId: string): number {
    return this.tableRates.get(tableId) ?? 0;
  }

  /** Calls `listener` with every new point; returns the function that unsubscribes it. */
  subscribe(listener: (point: LivePoint) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
    this.lag.disable();
    this.listeners.clear();
  }

  /** Takes one point now (the timer calls it; tests may too). */
  sample(): LivePoint {
    const now = this.nowMs();
    const seconds = Math.max(now - this.lastMs, 1) / MS_PER_SECOND;
    this.lastMs = now;
    const window = this.observer.takeWindow();
    const latencies = [...window.latenciesMs].sort((a, b) => a - b);
    const memory = process.memoryUsage();
    const point: LivePoint = {
      timeSeconds: now / MS_PER_SECOND,
      opsPerSecond: round3(window.calls / seconds),
      errorsPerSecond: round3(window.errors / seconds),
      rowsReadPerSecond: round3(window.rowsRead / seconds),
      rowsWrittenPerSecond: round3(window.rowsWritten / seconds),
      latencyP50Ms: round3(percentile(latencies, P50)),
      latencyP99Ms: round3(percentile(latencies, P99)),
      eventLoopLagMaxMs: round3(this.lag.count > 0 ? this.lag.max / NS_PER_MS : 0),
      eventLoopLagP99Ms: round3(this.lag.count > 0 ? this.lag.percentile(99) / NS_PER_MS : 0),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    };
    this.lag.reset();
    this.sampleTables(seconds);
    this.history.push(point);
    if (this.history.length > CONSOLE_HISTORY_POINTS_MAX) this.history.shift();
    for (const listener of this.listeners) listener(point);
    return point;
  }

  private sampleTables(seconds: number): void {
    const calls = this.observer.tableRequests();
    const rates = new Map<string, number>();
    for (const [tableId, count] of calls) {
      rates.set(tableId, round3((count - (this.lastTableCalls.get(tableId) ?? 0)) / seconds));
    }
    this.lastTableCalls = new Map(calls);
    this.tableRates = rates;
  }
}
