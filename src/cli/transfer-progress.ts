/**
 * Progress of a long command (import, export, bench) on standard error: a cli-progress bar with
 * rows, bytes, rows/s and ETA when standard error is a terminal, else one plain line every
 * `intervalMs` (and a last one at the end), so logs of scripted runs stay readable.
 *
 * Ownership: one reporter per command; `stop()` must be called once, after the last `update()`.
 */
import cliProgress from 'cli-progress';

/** Plain progress lines are at most this frequent by default. */
export const PROGRESS_INTERVAL_MS_DEFAULT = 2_000;

const KIB = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= KIB && unit < UNITS.length - 1) {
    value /= KIB;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`;
}

/** Options of a reporter. */
export interface ProgressOptions {
  /** Word naming the command in plain lines (`import`, `export`, `bench`). */
  readonly label: string;
  /** What `bytes` counts toward, if known (drives the bar and the ETA). */
  readonly totalBytes: number | undefined;
  /** Bytes already done before this run (a resumed transfer). */
  readonly startBytes?: number;
  /** Force plain lines (true) or the bar (false); default: the bar on a terminal. */
  readonly plain?: boolean;
  readonly intervalMs?: number;
}

/** Reports rows and bytes done so far. */
export class TransferProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly startedMs = Date.now();
  private readonly intervalMs: number;
  private readonly startBytes: number;
  private lastLineMs = this.startedMs;
  private rows = 0;
  private bytes = 0;

  constructor(private readonly options: ProgressOptions) {
    this.intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS_DEFAULT;
    this.startBytes = options.startBytes ?? 0;
    this.bytes = this.startBytes;
    const plain = options.plain ?? !process.stderr.isTTY;
    if (plain) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `${options.label} [{bar}] {percentage}% | {rows} rows | {bytesText} | {rate} rows/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(options.totalBytes ?? 0, this.startBytes, this.payload());
  }

  private rate(): number {
    const seconds = (Date.now() - this.startedMs) / 1000;
    return seconds > 0 ? this.rows / seconds : 0;
  }

  private payload(): Record<string, string | number> {
    return { rows: this.rows, bytesText: formatBytes(this.bytes), rate: Math.round(this.rate()) };
  }

  private line(): string {
    const parts = [
      `${this.options.label}: ${this.rows} rows`,
      formatBytes(this.bytes),
      `${Math.round(this.rate())} rows/s`,
    ];
    const total = this.options.totalBytes;
    if (total !== undefined && total > 0) {
      const done = this.bytes - this.startBytes;
      const seconds = (Date.now() - this.startedMs) / 1000;
      const eta = done > 0 ? ((total - this.bytes) * seconds) / done : Number.POSITIVE_INFINITY;
      parts.push(`${Math.min(100, Math.floor((this.bytes / total) * 100))}%`, `ETA ${formatSeconds(eta)}`);
    }
    return parts.join(', ');
  }

  /** Records the totals so far (rows this run, bytes in all). */
  update(rows: number, bytes: number): void {
    this.rows = rows;
    this.bytes = bytes;
    if (this.bar) {
      if (this.options.totalBytes !== undefined && bytes > this.options.totalBytes) this.bar.setTotal(bytes);
      this.bar.update(bytes, this.payload());
      return;
    }
    const now = Date.now();
    if (now - this.lastLineMs >= this.intervalMs) {
      this.lastLineMs = now;
      process.stderr.write(`${this.line()}\n`);
    }
  }

  /** Ends the bar (or prints the last plain line). */
  stop(): void {
    if (this.bar) this.bar.stop();
    process.stderr.write(
      `${this.line().replace(/, ETA .*$/, '')}, done in ${formatSeconds((Date.now() - this.startedMs) / 1000)}\n`,
    );
  }
}
