/**
 * The Prometheus registry of a process (prom-client). Every metric Tabula exports is named
 * `tabula_…` with the unit last (`_seconds`, `_bytes`, `_total` for counters), and every label
 * takes values from a closed or bounded set (method names, status codes, table ids of existing
 * tables, level numbers) — never raw user input, which would make the series count unbounded.
 *
 * Here too: the per-RPC metrics (`RpcMetrics`) and the one-second call window the console charts
 * (`CallWindow`); src/server/observability.ts feeds both.
 *
 * The process metrics of prom-client's default collector come along: resident memory
 * (`process_resident_memory_bytes`), heap, CPU, and event-loop lag
 * (`nodejs_eventloop_lag_seconds` and its percentiles).
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { TABLE_CALLS_TRACKED_MAX } from './limits.js';

export { Registry } from 'prom-client';
export { TABLE_CALLS_TRACKED_MAX };

/** Resolution of the event-loop delay monitor behind `nodejs_eventloop_lag_*`, in ms. */
const EVENT_LOOP_MONITORING_PRECISION_MS = 20;

/** Content type of the Prometheus text exposition format. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** A registry holding prom-client's process and Node.js metrics. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS,
  });
  return registry;
}

/** Latency buckets of RPC histograms, in seconds: 0.25 ms to 10 s. */
const RPC_DURATION_BUCKETS_SECONDS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const MS_PER_SECOND = 1000;

/** Rows and bytes one call read and wrote. */
export interface RpcCounts {
  rowsRead: number;
  bytesRead: number;
  rowsWritten: number;
  bytesWritten: number;
}

/** One finished call, as the RPC metrics see it. */
export interface RpcSample extends RpcCounts {
  readonly service: string;
  readonly method: string;
  /** The status code's name, e.g. `OK`, `NOT_FOUND`. */
  readonly codeName: string;
  readonly durationMs: number;
}

/**
 * The per-RPC metrics: calls and latency by service, method and status code; rows and bytes read
 * and written by method; and, for the console's tablet map, successful calls per table.
 */
export class RpcMetrics {
  /** Successful calls per table id, at most TABLE_CALLS_TRACKED_MAX tables. */
  readonly tableCalls = new Map<string, number>();
  private readonly calls: Counter<'service' | 'method' | 'code'>;
  private readonly duration: Histogram<'service' | 'method' | 'code'>;
  private readonly rows: Counter<'method' | 'direction'>;
  private readonly bytes: Counter<'method' | 'direction'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({
      name: 'tabula_rpc_calls_total',
      help: 'Finished RPCs by service, method and gRPC status code.',
      labelNames: ['service', 'method', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'tabula_rpc_duration_seconds',
      help: 'RPC latency from handler entry to the status (the end of the stream for streaming calls).',
      labelNames: ['service', 'method', 'code'],
      buckets: RPC_DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.rows = new Counter({
      name: 'tabula_rpc_rows_total',
      help: 'Rows read or written by successful RPCs (direction: read or written).',
      labelNames: ['method', 'direction'],
      registers,
    });
    this.bytes = new Counter({
      name: 'tabula_rpc_bytes_total',
      help: 'Row key, qualifier and value bytes read or written by successful RPCs.',
      labelNames: ['method', 'direction'],
      registers,
    });
  }

  /** Records one call; `table` is the table id of a successful call's request, if it named one. */
  observe(sample: RpcSample, table: string | undefined): void {
    const labels = { service: sample.service, method: sample.method, code: sample.codeName };
    this.calls.inc(labels);
    this.duration.observe(labels, sample.durationMs / MS_PER_SECOND);
    const method = sample.method;
    if (sample.rowsRead > 0) this.rows.inc({ method, direction: 'read' }, sample.rowsRead);
    if (sample.bytesRead > 0) this.bytes.inc({ method, direction: 'read' }, sample.bytesRead);
    if (sample.rowsWritten > 0) this.rows.inc({ method, direction: 'written' }, sample.rowsWritten);
    if (sample.bytesWritten > 0) this.bytes.inc({ method, direction: 'written' }, sample.bytesWritten);
    if (table === undefined || sample.codeName !== 'OK') return;
    const seen = this.tableCalls.get(table);
    if (seen !== undefined) this.tableCalls.set(table, seen + 1);
    else if (this.tableCalls.size < TABLE_CALLS_TRACKED_MAX) this.tableCalls.set(table, 1);
  }
}

/**
 * The calls of one short interval (the console's one-second tick): counts, and a uniform sample
 * of at most `samplesMax` latencies (reservoir sampling) for percentiles.
 */
export class CallWindow {
  calls = 0;
  errors = 0;
  rowsRead = 0;
  rowsWritten = 0;
  readonly latenciesMs: number[] = [];

  constructor(private readonly samplesMax: number) {}

  record(durationMs: number, failed: boolean, counts: RpcCounts): void {
    this.calls++;
    if (failed) this.errors++;
    this.rowsRead += counts.rowsRead;
    this.rowsWritten += counts.rowsWritten;
    if (this.latenciesMs.length < this.samplesMax) this.latenciesMs.push(durationMs);
    else {
      const slot = Math.floor(Math.random() * this.calls);
      if (slot < this.samplesMax) this.latenciesMs[slot] = durationMs;
    }
  }
}
