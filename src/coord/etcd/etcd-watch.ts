/**
 * One prefix watch of the etcd driver, on its own Watch stream, resuming after a lost stream.
 *
 * The watch tracks `nextRevision`, the first revision it has not delivered: the caller's
 * `fromRevision`, or the store revision + 1 when etcd confirms creation, then the last delivered
 * event's revision + 1 (and progress notifications raise it). When the stream fails, it is
 * re-created with `start_revision = nextRevision`, so events are neither lost nor repeated (etcd
 * never splits one revision's events across responses without `fragment`, which is not asked for);
 * events below `nextRevision` are dropped all the same. If the stream cannot be re-established for
 * `ETCD_WATCH_RESUME_MS_MAX`, or etcd cancels the watch (its start revision was compacted), the
 * watch ends and `onBroken` is called once.
 *
 * Concurrency: single-threaded (event loop); retry timers come from the injected timers.
 * Invariant: after `stop()` or `onBroken`, the listener is never called again.
 */
import type { Clock } from '../../common/clock.js';
import { ETCD_WATCH_RESUME_MS_MAX, ETCD_WATCH_RETRY_MS } from '../../common/limits.js';
import type { WatchListener } from '../coordination.js';
import type { CancelTimer, CoordinationTimers } from '../coordination-timers.js';
import type { EtcdClient, EtcdHeader, EtcdKeyValue } from './etcd-client.js';
import { type EtcdKeySpace, revisionOf } from './etcd-keys.js';

/** A WatchResponse as decoded. */
interface WatchResponse {
  readonly header: EtcdHeader;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compact_revision: string;
  readonly cancel_reason: string;
  readonly events: readonly { type: 'PUT' | 'DELETE'; kv: EtcdKeyValue }[];
}

/** Everything a watch needs. */
export interface EtcdWatchOptions {
  readonly client: EtcdClient;
  readonly keys: EtcdKeySpace;
  readonly prefix: string;
  readonly listener: WatchListener;
  readonly fromRevision: number | undefined;
  readonly onBroken: ((reason: string) => void) | undefined;
  readonly clock: Clock;
  readonly timers: CoordinationTimers;
  /** Called once when the watch ends either way (the driver forgets it). */
  readonly onEnded: (watch: EtcdWatch) => void;
}

/** A running etcd watch. */
export class EtcdWatch {
  private nextRevision: number | undefined;
  private stream: ReturnType<EtcdClient['openWatchStream']> | undefined;
  private ended = false;
  /** Monotonic time the current outage began, or `undefined` while the stream is healthy. */
  private lostSinceMs: number | undefined;
  private cancelRetry: CancelTimer | undefined;

  constructor(private readonly options: EtcdWatchOptions) {
    this.nextRevision = options.fromRevision;
    this.open();
  }

  /** Stops the watch without calling `onBroken`. Idempotent. */
  stop(): void {
    this.end();
  }

  private open(): void {
    if (this.ended) return;
    let stream: ReturnType<EtcdClient['openWatchStream']>;
    try {
      stream = this.options.client.openWatchStream();
    } catch (err) {
      this.lost(err);
      return;
    }
    this.stream = stream;
    stream.on('data', (response: WatchResponse) => {
      if (this.stream === stream) this.receive(response);
    });
    const onFailure = (err: unknown) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.lost(err);
    };
    stream.on('error', onFailure);
    stream.on('end', () => onFailure(new Error('watch stream ended')));
    const range = this.options.keys.kvRange(this.options.prefix);
    stream.write({
      create_request: { ...range, start_revision: String(this.nextRevision ?? 0), progress_notify: true },
    });
  }

  private receive(response: WatchResponse): void {
    if (this.ended) return;
    const headerRevision = revisionOf(response.header?.revision);
    if (response.canceled) {
      const compacted = revisionOf(response.compact_revision);
      this.broken(
        compacted > 0
          ? `revision ${this.nextRevision} is compacted (oldest kept: ${compacted})`
          : `etcd cancelled the watch: ${response.cancel_reason || 'no reason given'}`,
      );
      return;
    }
    if (response.created) {
      this.lostSinceMs = undefined;
      this.nextRevision ??= headerRevision + 1;
    }
    for (const event of response.events) {
      const version = revisionOf(event.kv.mod_revision);
      if (version < (this.nextRevision ?? 0)) continue;
      const key = this.options.keys.keyOf(event.kv.key);
      const value = event.type === 'DELETE' ? undefined : Buffer.from(event.kv.value);
      try {
        this.options.listener({ key, value, version });
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
      if (this.ended) return;
      this.nextRevision = version;
    }
    if (response.events.length > 0) this.nextRevision = (this.nextRevision ?? 0) + 1;
    else if (!response.created && headerRevision > 0) {
      // A progress notification: every later event has a revision above the header's.
      this.nextRevision = Math.max(this.nextRevision ?? 0, headerRevision + 1);
    }
  }

  private lost(err: unknown): void {
    if (this.ended) return;
    const now = this.options.clock.monotonicMs();
    this.lostSinceMs ??= now;
    if (now - this.lostSinceMs >= ETCD_WATCH_RESUME_MS_MAX) {
      this.broken(`etcd watch stream lost and not resumed: ${String((err as Error)?.message ?? err)}`);
      return;
    }
    this.cancelRetry = this.options.timers.setTimer(ETCD_WATCH_RETRY_MS, () => {
      this.cancelRetry = undefined;
      this.open();
    });
  }

  private broken(reason: string): void {
    if (this.ended) return;
    this.end();
    const onBroken = this.options.onBroken;
    if (onBroken) queueMicrotask(() => onBroken(reason));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelRetry?.();
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.options.onEnded(this);
  }
}
