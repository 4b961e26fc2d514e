/**
 * Writes a lazily produced sequence of responses to a server-streaming call with backpressure:
 * the next response is produced only after `call.write()` returned true or the call drained, so
 * a slow reader holds at most the stream's buffer, never the whole result. The response after a
 * write that returned true is produced before yielding, so the end of the source is known without
 * an extra turn of the event loop.
 *
 * A wait for the reader that lasts `stall.afterMs` calls `stall.onStall` (ReadRows lets go of its
 * engine iterator then: resumable-rows.ts).
 *
 * Stops pulling as soon as the client cancels or the call's deadline passes, and always closes the
 * source (`return()`), so a tablet scan under it releases its iterators. Between writes it yields
 * to the event loop, so one large scan cannot starve other calls.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ServerWritableStream } from '@grpc/grpc-js';

/** Called once a wait for the reader has lasted `afterMs` (e.g. to let go of engine iterators). */
export interface StallHook {
  readonly afterMs: number;
  readonly onStall: () => void;
}

/** How a stream ended. */
export type StreamOutcome = 'completed' | 'cancelled' | 'deadline';

/** Milliseconds until `deadline` (grpc-js gives a Date, epoch milliseconds, or Infinity). */
function msUntil(deadline: Date | number): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return at - Date.now();
}

/**
 * Pulls responses from `source` and writes them to `call` until the source ends, the client
 * cancels, or the deadline passes. Errors thrown by the source propagate (after closing it).
 * Does not end the call: the caller does, on 'completed'.
 */
export async function writeWithBackpressure<T>(
  call: ServerWritableStream<unknown, T>,
  source: Iterator<T, void, undefined>,
  stall?: StallHook,
): Promise<StreamOutcome> {
  let stopped: StreamOutcome | undefined;
  let wake: (() => void) | undefined;
  const stop = (why: StreamOutcome) => {
    stopped ??= why;
    wake?.();
  };
  const onCancel = () => stop('cancelled');
  const onDrain = () => wake?.();
  call.on('cancelled', onCancel);
  call.on('close', onCancel);
  call.on('drain', onDrain);
  const remainingMs = msUntil(call.getDeadline());
  const timer = Number.isFinite(remainingMs)
    ? setTimeout(() => stop('deadline'), Math.max(0, remainingMs))
    : undefined;
  try {
    if (call.cancelled) return 'cancelled';
    let next = source.next();
    for (;;) {
      if (stopped !== undefined) return stopped;
      if (next.done === true) return 'completed';
      if (call.write(next.value)) {
        // Produce the next response before yielding, so the last one is not followed by an idle
        // turn of the event loop (a single-row read is one response, then the end of the call).
        next = source.next();
        if (next.done === true) return stopped ?? 'completed';
        await nextTurn();
      } else {
        const stallTimer = stall === undefined ? undefined : setTimeout(stall.onStall, stall.afterMs);
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (stopped !== undefined) resolve();
        });
        if (stallTimer !== undefined) clearTimeout(stallTimer);
        wake = undefined;
        if (stopped !== undefined) return stopped;
        next = source.next();
      }
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    call.off('cancelled', onCancel);
    call.off('close', onCancel);
    call.off('drain', onDrain);
    source.return?.();
  }
}
